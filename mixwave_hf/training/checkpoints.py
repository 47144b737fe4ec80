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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from mixwave_hf.files import folder_relation, write_json
from mixwave_hf.training.config import ConfigError, TrainingConfig

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
    """The checkpoint `--resume` continues from, None for a fresh run; ConfigError if the folder disagrees."""
    if resume:
        checkpoint = latest_checkpoint(output_dir)
        if checkpoint is None:
            raise ConfigError(f"--resume: no complete checkpoint in {output_dir / 'checkpoints'}; start without "
                              "--resume (or check --output-dir)")
        return checkpoint
    checkpoints = checkpoint_folders(output_dir)
    if checkpoints:
        raise ConfigError(f"{output_dir} already holds a training run ({len(checkpoints)} checkpoint(s) in "
                          f"{output_dir / 'checkpoints'}): pass --resume to continue it, or use another --output-dir")
    return None


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


def prepare_output_dir(output_dir: Path, config: TrainingConfig, resuming: bool, accelerator) -> None:
    """Drop cut-short checkpoints and write config.yaml (main process); call in every process, after every
    process has chosen its checkpoint (`checkpoint_to_resume`)."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        for _, folder, complete in checkpoint_folders(output_dir):
            if not complete:  # cut short by a kill; its number would collide with the next save
                logger.warning("removing %s: incomplete (no %s), the run was stopped while saving it",
                               folder, CHECKPOINT_MARKER)
                shutil.rmtree(folder)
        output_dir.mkdir(parents=True, exist_ok=True)
        config_file = output_dir / "config.yaml"
        if resuming and config_file.is_file():
            changed = _changed_options(yaml.safe_load(config_file.read_text()) or {}, config.as_dict())
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
