"""Checkpoints of a run: where they are, which one `--resume` continues, saving and loading them.

    OUTPUT_DIR/checkpoints/checkpoint_N/   accelerator.save_state at step N + loader-{rank}.pt (each
                                           process's data position) + mixwave-checkpoint.json (written last)
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import time
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from mixwave_hf.files import folder_relation, write_json
from mixwave_hf.training.config import ConfigError, TrainingConfig, upgraded_config

logger = logging.getLogger(__name__)

#: Written last into a checkpoint folder, by the main process once every process has saved: a folder
#: without it was cut short (a killed run) and is never resumed from.
CHECKPOINT_MARKER = "mixwave-checkpoint.json"


@dataclass
class TrainingProgress:
    """What a checkpoint must carry besides the model and optimizer: registered for checkpointing."""

    step: int = 0
    seconds: float = 0.0
    crops: int = 0
    best_value: float = math.inf
    best_step: int = -1
    best_scores: dict[str, float] = field(default_factory=dict)

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


def checkpoint_folders(output_dir: Path) -> list[tuple[int, Path, bool]]:
    """(step, folder, complete) of every checkpoint_N folder, oldest first."""
    found = []
    for folder in (output_dir / "checkpoints").glob("checkpoint_*"):
        match = re.fullmatch(r"checkpoint_(\d+)", folder.name)
        if match and folder.is_dir():
            found.append((int(match.group(1)), folder, (folder / CHECKPOINT_MARKER).is_file()))
    return sorted(found)


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    complete = [folder for _, folder, done in checkpoint_folders(output_dir) if done]
    return complete[-1] if complete else None


def checkpoint_to_resume(output_dir: Path, resume: bool) -> Path | None:
    """The checkpoint `--resume` continues from, None for a fresh run; ConfigError if the folder disagrees.

    Resuming, that is the newest complete checkpoint whose files are whole (`damaged_checkpoint_file`):
    a newer damaged one is passed over (`prepare_output_dir` says so and removes it); none: ConfigError."""
    if resume:
        damaged = []
        for _, folder, complete in reversed(checkpoint_folders(output_dir)):
            damage = damaged_checkpoint_file(folder) if complete else None
            if complete and damage is None:
                return folder
            if damage:
                damaged.append(f"{folder.name}: {damage}")
        if damaged:
            raise ConfigError(f"--resume: no usable checkpoint in {output_dir / 'checkpoints'} ({'; '.join(damaged)}); "
                              "remove the damaged checkpoints to start the run again, or use another --output-dir")
        raise ConfigError(f"--resume: no complete checkpoint in {output_dir / 'checkpoints'}; start without "
                          "--resume (or check --output-dir)")
    checkpoints = checkpoint_folders(output_dir)
    if checkpoints:
        raise ConfigError(f"{output_dir} already holds a training run ({len(checkpoints)} checkpoint(s) in "
                          f"{output_dir / 'checkpoints'}): pass --resume to continue it, or use another --output-dir")
    return None


def damaged_checkpoint_file(folder: Path) -> str | None:
    """Why a file of the checkpoint `folder` cannot be loaded (e.g. "model.safetensors is damaged (...)": cut
    short by a full disk), or None: the safetensors headers are read, the torch files' zip archives checked
    (every member's CRC) and the completion marker parsed; nothing is loaded."""
    from safetensors import SafetensorError, safe_open

    for file in sorted(folder.iterdir()):
        try:
            if file.suffix == ".safetensors":
                with safe_open(str(file), framework="pt"):
                    pass
            elif file.suffix in (".bin", ".pt", ".pkl"):
                with zipfile.ZipFile(file) as archive:
                    broken = archive.testzip()
                if broken is not None:
                    raise zipfile.BadZipFile(f"{broken} fails its CRC check")
            elif file.name == CHECKPOINT_MARKER:
                json.loads(file.read_text())
        except (OSError, ValueError, zipfile.BadZipFile, SafetensorError) as error:
            return f"{file.name} is damaged ({error})"
    return None


def check_resumed_model(output_dir: Path, config: TrainingConfig) -> None:
    """ConfigError naming every model option of `config` that differs from the run's own (OUTPUT_DIR/config.yaml,
    written when it started), with both values: the checkpoint's weights are of that model. A balance_gain_db
    of null (to be fitted) takes the run's."""
    config_file = output_dir / "config.yaml"
    saved = (yaml.safe_load(config_file.read_text()) or {}).get("model") if config_file.is_file() else None
    if not isinstance(saved, Mapping):
        return
    model = config.as_dict()["model"]
    changed = [f"model.{name} {value!r} here, {saved[name]!r} in the run" for name, value in model.items()
               if name in saved and value != saved[name]
               and not (name == "balance_gain_db" and value is None)]
    if changed:
        raise ConfigError(f"--resume: the model options differ from the run's ({config_file}): {'; '.join(changed)}; "
                          "its checkpoints hold that model: leave the model options as they were, or start a new run "
                          "in another --output-dir")


def check_output_dir(output_dir: Path, inputs: Mapping[str, str | None]) -> None:
    """ConfigError where `output_dir` cannot take a run: an existing file, or a folder that is, holds or lies
    inside a local input (`inputs`: {option: a path, a Hub id or None}; `files.folder_relation`). The run writes
    config.yaml, checkpoints/, logs/, best/ and final/ (replaced whole) there: none may replace an input."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"--output-dir {output_dir}: is a file; expected a folder (a new one, or a run's "
                          "to --resume)")
    for option, path in inputs.items():
        relation = folder_relation(output_dir, path) if path is not None and Path(path).exists() else None
        if relation:
            raise ConfigError(f"--output-dir {output_dir} {relation} the input {option} {path}; the run writes "
                              "its config, checkpoints, logs and models there: choose a folder apart from its inputs")


def prepare_output_dir(output_dir: Path, config: TrainingConfig, resume_from: Path | None, accelerator) -> None:
    """Drop cut-short checkpoints, and those newer than `resume_from` (damaged: `checkpoint_to_resume` passed
    them over), and write config.yaml (main process); call in every process, after every process has chosen
    its checkpoint."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        resumed_step = int(resume_from.name.rpartition("_")[2]) if resume_from is not None else None
        for step, folder, complete in checkpoint_folders(output_dir):
            if not complete:  # cut short by a kill; its number would collide with the next save
                logger.warning("removing %s: incomplete (no %s), the run was stopped while saving it",
                               folder, CHECKPOINT_MARKER)
                shutil.rmtree(folder)
            elif resumed_step is not None and step > resumed_step:
                logger.warning("removing %s: %s; resuming from %s instead", folder, damaged_checkpoint_file(folder),
                               resume_from.name)
                shutil.rmtree(folder)
        output_dir.mkdir(parents=True, exist_ok=True)
        config_file = output_dir / "config.yaml"
        if resume_from is not None and config_file.is_file():
            # a run started before the data options had sections wrote flat keys: compare them where they live now
            before = upgraded_config(yaml.safe_load(config_file.read_text()) or {})
            changed = _changed_options(before, config.as_dict())
            if changed:
                logger.warning("resuming with options changed since %s: %s", config_file, ", ".join(changed))
        config_file.write_text(yaml.safe_dump(config.as_dict(), sort_keys=False))
    accelerator.wait_for_everyone()


def _changed_options(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[str]:
    changed = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changed += _changed_options(old, new, f"{prefix}{key}.")
        elif old != new:
            changed.append(f"{prefix}{key}: {old!r} -> {new!r}")
    return changed


def check_checkpoint_layout(checkpoint: Path, world_size: int, num_workers: int) -> None:
    saved = json.loads((checkpoint / CHECKPOINT_MARKER).read_text())
    if (saved["world_size"], saved["num_workers"]) != (world_size, num_workers):
        raise ConfigError(f"{checkpoint} was written by {saved['world_size']} process(es) with {saved['num_workers']} "
                          f"loader worker(s) each; this run has {world_size} and {num_workers}. Resume with the same "
                          "numbers: every process resumes its own data stream")


def save_checkpoint(accelerator, loader, state: TrainingProgress, output_dir: Path, num_workers: int) -> Path:
    """`accelerator.save_state` as checkpoints/checkpoint_{step}, each process's loader state beside it, then the
    completion marker. Call in every process."""
    folder = output_dir / "checkpoints" / f"checkpoint_{state.step}"
    if (folder / CHECKPOINT_MARKER).is_file():  # the last step was also a checkpoint step
        return folder
    accelerator.project_configuration.iteration = state.step  # name checkpoints by step, not by save count
    accelerator.save_state()
    # Accelerate's own dataloader state would be written by every process to one file; ours is per rank.
    torch.save(loader.state_dict(), folder / f"loader-{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        write_json(folder / CHECKPOINT_MARKER, {"step": state.step, "world_size": accelerator.num_processes,
                                                 "num_workers": num_workers, "time": time.time()})
    accelerator.wait_for_everyone()
    return folder


def load_checkpoint(accelerator, loader, checkpoint: Path, num_workers: int) -> None:
    """Restore every registered state (model, optimizer, scheduler, RNG, EMA, progress) and this process's
    data position from `checkpoint`; ConfigError when it was written by another process/worker layout."""
    check_checkpoint_layout(checkpoint, accelerator.num_processes, num_workers)
    accelerator.load_state(str(checkpoint))
    loader.load_state_dict(torch.load(checkpoint / f"loader-{accelerator.process_index}.pt", weights_only=True))
