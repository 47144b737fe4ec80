"""What a run reports about itself: the model card's training table, TensorBoard's hyperparameters.

    save_model(run, output_dir / "best", "best validation ...")   # save_pretrained + card + training.json
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mixwave_hf.files import atomic_path, write_json
from mixwave_hf.metrics import HEADLINE_METRIC
from mixwave_hf.training.config import DEFAULT_INIT

if TYPE_CHECKING:
    from mixwave_hf.training.run import TrainingRun

PRECISIONS = {"no": "fp32", "fp16": "fp16 mixed precision", "bf16": "bf16 mixed precision"}


def hardware_description(device: torch.device, processes: int) -> str:
    """E.g. "2 x NVIDIA H100 80GB HBM3" or "1 x CPU (AMD EPYC 7B13, 2 threads)"."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "cpu":
        model_name = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model_name = line.partition(":")[2].strip()
                    break
        except OSError:
            pass
        name = f"CPU ({model_name}, {torch.get_num_threads()} threads)"
    else:
        name = device.type
    return f"{processes} x {name}"


def flat_hyperparameters(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {"section/option": bool|int|float|str} for TensorBoard's hparams."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_hyperparameters(value, f"{name}/"))
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:  # lists and null: TensorBoard's hparams takes scalars and strings only
            flat[name] = json.dumps(value)
    return flat


def describe_init(init_from: str | None) -> str:
    """The card's "initial weights": the model fine-tuned, or "" for a run from random weights."""
    if init_from is None:
        return ""
    if init_from == DEFAULT_INIT:
        return "fine-tuned from the default model of mixwave-hf (`MixWaveUNet.from_pretrained()`)"
    return f"fine-tuned from `{init_from}`"


def training_table(run: TrainingRun, weights: str, validation_label: str = "",
                   scores: Mapping[str, float] | None = None, scores_step: int = 0) -> dict[str, Any]:
    """The card's training table (rendered by `card.render_model_card`), with the weights' validation
    `scores` (from `validate`) as the row `validation_label`."""
    config, progress, accelerator, crop = run.config, run.progress, run.accelerator, run.crop_config
    options = config.training
    table = {
        "dataset": run.source.describe(config.data),
        "target": f"{crop.target} mix",
        "weights": weights + (f", exponential moving average (decay {options.ema_decay:g})" if run.ema else ""),
        "steps": f"{progress.step:,} of {options.steps:,}",
        "batch": f"{run.crops_per_step} crops per step ({options.batch_size} per process x "
                 f"{accelerator.num_processes} process(es) x {options.gradient_accumulation_steps} accumulation)",
        "crops": f"{crop.input_samples:,} input -> {crop.output_samples:,} output samples "
                 f"({crop.output_samples / crop.sample_rate:.2f} s), {crop.crops_per_segment} per segment, "
                 f"input gain ±{crop.gain_db:g} dB",
        "loss": run.loss_function.describe(),
        "optimizer": optimizer_description(run),
        "precision": PRECISIONS.get(accelerator.mixed_precision, accelerator.mixed_precision),
        "hours": f"{progress.seconds / 3600:.3g}",
        "hardware": hardware_description(accelerator.device, accelerator.num_processes),
        "initial weights": describe_init(options.init_from),
        "command": f"`{run.command}`" if run.command else "",
    }
    if scores:
        validated_on = (f"split {config.data.validation_split}" if run.source.dataset else
                        Path(run.source.validation_bundle).name)
        table[validation_label] = (f"{HEADLINE_METRIC} {scores[HEADLINE_METRIC]:.4g}, L1 {scores['l1']:.4g} at step "
                                   f"{scores_step} ({scores['crops']} crops of {validated_on})")
    return {key: value for key, value in table.items() if value != ""}


def optimizer_description(run: TrainingRun) -> str:
    """E.g. "Adam (betas 0.9, 0.999), linear warmup over 200 steps, then cosine decay ..., gradient norm
    clipped at 1"."""
    options = run.config.optimizer
    clipping = f", gradient norm clipped at {options.max_grad_norm:g}" if options.max_grad_norm else ""
    return (f"{'AdamW' if options.name == 'adamw' else 'Adam'} (betas {options.betas[0]:g}, {options.betas[1]:g}), "
            f"{run.schedule.describe(options.lr)}{clipping}")


def run_card_options(run: TrainingRun, weights: str, validation_label: str = "",
                     scores: Mapping[str, float] | None = None, scores_step: int = 0) -> dict[str, Any]:
    """The `render_model_card` options of this run, with the training table of `training_table`: written as
    training.json beside the weights (`publish.saved_card_options` reads them back)."""
    card = run.config.card
    datasets = card.datasets if card.datasets is not None else run.hub_datasets
    table = training_table(run, weights, validation_label, scores, scores_step)
    return {"training": table, "datasets": datasets or None, "license": card.license,
            "data_licenses": card.data_licenses, "synthetic_only": card.synthetic_only}


def save_model(run: TrainingRun, folder: Path, weights: str, validation_label: str = "",
               scores: Mapping[str, float] | None = None, scores_step: int = 0) -> None:
    """save_pretrained (config, safetensors, card) + training.json into `folder`, replacing it whole;
    the arguments after `folder` are those of `training_table`."""
    options = run_card_options(run, weights, validation_label, scores, scores_step)
    with atomic_path(folder) as partial:
        run.evaluated_model().save_pretrained(partial, model_card_kwargs=options)
        write_json(partial / "training.json", options)
