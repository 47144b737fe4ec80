"""`--record-crops`: which crops each process trained on, per step, and its weights' checksums.

An observer attached to a run from outside its loop (tests and debugging); the loop does not know it:

    run = TrainingRun.start(config, source, output_dir)
    crop_log = CropLog.attach(run)           # wraps the run's batches
    ...                                      # steps, finish
    crop_log.write()                         # OUTPUT_DIR/crops-rank{rank}.json
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from mixwave_hf.files import write_json

if TYPE_CHECKING:
    from mixwave_hf.training.run import TrainingRun


def parameter_checksum(module: torch.nn.Module) -> str:
    """SHA-256 of every tensor of the module's state dict (names and bytes): equal iff the weights are
    bitwise equal."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class CropLog:
    """Logs (song, segment, start) of every crop a process draws, keyed by the step it trains, and
    the checksums of its weights at the start and the end (`parameter_checksum`)."""

    def __init__(self, run: TrainingRun) -> None:
        self.run = run
        accelerator = run.accelerator
        self.entries: dict[str, Any] = {
            "rank": accelerator.process_index, "world_size": accelerator.num_processes,
            "first_step": run.progress.step + 1, "steps": {},
            "initial_parameter_sha256": parameter_checksum(accelerator.unwrap_model(run.model))}

    @classmethod
    def attach(cls, run: TrainingRun) -> CropLog:
        """A crop log for `run` (before its first step), wrapping the batches it draws."""
        crop_log = cls(run)
        run.batches = crop_log.logged(run.batches)
        return crop_log

    def logged(self, batches: Iterator[dict]) -> Iterator[dict]:
        """`batches`, noting each batch's crops under the step about to be trained."""
        for batch in batches:
            crops = zip(batch["song_id"], batch["segment_index"], batch["start"], strict=True)
            self.entries["steps"].setdefault(str(self.run.progress.step + 1), []).extend(
                [song, int(segment), int(start)] for song, segment, start in crops)
            yield batch

    def write(self) -> None:
        """OUTPUT_DIR/crops-rank{rank}.json with the final checksums (model, EMA) and validation crops scored."""
        run = self.run
        self.entries["parameter_sha256"] = parameter_checksum(run.accelerator.unwrap_model(run.model))
        self.entries["ema_parameter_sha256"] = parameter_checksum(run.ema.module) if run.ema is not None else None
        self.entries["validation_crops_scored"] = run.validation_crops_scored
        write_json(run.output_dir / f"crops-rank{self.entries['rank']}.json", self.entries)
