"""What training optimises and how it is scored: the loss, the learning-rate schedule, the EMA, validation.

    loss, terms = TrainingLoss(l1=1.0, stft=1.0)(estimate, target)   # [batch, 2, samples] each
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from mixwave_hf.metrics import HEADLINE_METRIC, STFT_FFT_SIZES, l1_distance, loudness_matched_stereo_stft_distance
from mixwave_hf.stft_loss import SumAndDifferenceSTFTLoss
from mixwave_hf.training.config import ScheduleOptions

#: Validation figures, in the order they are reported; the first is the one the best model is chosen by.
VALIDATION_METRICS = (HEADLINE_METRIC, "l1")


@dataclass
class WarmupDecay:
    """Learning-rate multiplier of step k (0-based): (k+1)/warmup during warmup, then cosine or
    exponential decay to `min_ratio` over `decay_steps`, or constant. A callable object, not a function,
    so that LambdaLR's state_dict (and so the checkpoint) holds it."""

    warmup_steps: int
    decay_steps: int
    decay: str = "cosine"
    min_ratio: float = 0.1

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.decay_steps))
        if self.decay == "cosine":
            return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if self.decay == "exponential":
            return self.min_ratio**progress
        return 1.0

    @classmethod
    def from_options(cls, options: ScheduleOptions, steps: int) -> WarmupDecay:
        decay_steps = options.decay_steps or max(1, steps - options.warmup_steps)
        return cls(options.warmup_steps, decay_steps, options.decay, options.min_lr_ratio)

    def describe(self, lr: float) -> str:
        warmup = f"linear warmup over {self.warmup_steps} steps, then " if self.warmup_steps else ""
        if self.decay == "constant":
            return f"{warmup}constant {lr:g}"
        return f"{warmup}{self.decay} decay from {lr:g} to {lr * self.min_ratio:g} over {self.decay_steps} steps"


class TrainingLoss(torch.nn.Module):
    """`l1` x mean |estimate - target| + `stft` x stereo multi-resolution STFT loss (sum and difference).

    forward([batch, 2, samples] estimate, target) -> (total loss, {"l1": ..., "stft": ...} of the terms used).
    Crops shorter than the largest FFT (8192) are zero-padded for the STFT term, as in the metric.
    """

    def __init__(self, l1: float = 1.0, stft: float = 0.0) -> None:
        super().__init__()
        self.weights = {name: weight for name, weight in (("l1", l1), ("stft", stft)) if weight > 0}
        if not self.weights:
            raise ValueError(f"loss weights l1={l1}, stft={stft}; expected at least one positive")
        self.stft = SumAndDifferenceSTFTLoss(STFT_FFT_SIZES) if "stft" in self.weights else None

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        estimate, target = estimate.float(), target.float()  # STFTs and L1 in fp32 under mixed precision too
        terms = {}
        if "l1" in self.weights:
            terms["l1"] = torch.nn.functional.l1_loss(estimate, target)
        if self.stft is not None:
            # As metrics.stereo_stft_distance: crops shorter than the largest FFT are zero-padded to it.
            missing = max(STFT_FFT_SIZES) - estimate.shape[-1]
            if missing > 0:
                estimate, target = (torch.nn.functional.pad(audio, (0, missing)) for audio in (estimate, target))
            terms["stft"] = self.stft(estimate, target)
        total = sum(self.weights[name] * value for name, value in terms.items())
        return total, terms

    def describe(self) -> str:
        names = {"l1": "L1 (waveform)", "stft": "stereo multi-resolution STFT (sum and difference)"}
        return " + ".join(f"{weight:g} x {names[name]}" for name, weight in self.weights.items())


def exponential_moving_average(model: torch.nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """An EMA copy of `model` (torch's AveragedModel): update with `.update_parameters(model)` after each step."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def validate(model: torch.nn.Module, validation: Iterator[dict], accelerator, sample_rate: int) -> dict[str, float]:
    """Mean validation figures over the whole (prepared, sharded) validation set, the same in every process.

    Per crop: `metrics.loudness_matched_stereo_stft_distance` (the headline) and L1; NaN (a silent
    reference) is skipped in the means. Returns {metric: mean, ..., "crops": number scored}.
    """
    model.eval()
    rows = []
    with torch.no_grad(), accelerator.autocast():
        for batch in validation:
            estimates = model(batch["tracks"]).float().cpu().numpy()
            references = batch["target"].float().cpu().numpy()
            scores = [[loudness_matched_stereo_stft_distance(estimate, reference, sample_rate),
                       l1_distance(estimate, reference)]
                      for estimate, reference in zip(estimates, references, strict=True)]
            rows.append(accelerator.gather_for_metrics(
                torch.tensor(scores, dtype=torch.float64, device=accelerator.device)))
    table = torch.cat(rows).cpu().numpy()
    means = {name: float(np.nanmean(table[:, column])) if not np.isnan(table[:, column]).all() else math.nan
             for column, name in enumerate(VALIDATION_METRICS)}
    return {**means, "crops": int(table.shape[0])}
