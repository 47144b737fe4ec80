"""One training run as an object that owns its parts, and `train`, the loop over its phases.

    run = TrainingRun.start(config, DataSource(bundle="train.npz", validation_bundle="val.npz"), "runs/x")
    while not run.done:
        run.train_step()     # one optimizer update
        run.after_step()     # log, validate, checkpoint when due
    result = run.finish()    # final model, push, summary
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from mixwave_hf.data.loader import CropConfig, LoaderStats
from mixwave_hf.metrics import HEADLINE_METRIC
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.training.build import build_accelerator, build_loaders, build_model_and_data, build_optimizer
from mixwave_hf.training.checkpoints import (
    TrainingProgress,
    check_output_dir,
    check_resumed_model,
    checkpoint_to_resume,
    load_checkpoint,
    prepare_output_dir,
    save_checkpoint,
)
from mixwave_hf.training.config import DEFAULT_INIT, ConfigError, TrainingConfig, TrainingOptions, load_init_model
from mixwave_hf.training.data import DataSource
from mixwave_hf.training.objectives import (
    VALIDATION_METRICS,
    TrainingLoss,
    WarmupDecay,
    exponential_moving_average,
    validate,
)
from mixwave_hf.training.report import flat_hyperparameters, save_model

TRACKER_PROJECT = "mixwave"


@dataclass
class TrainingResult:
    """What a finished run reports: its step, the best validation (NaN without one) and its folders."""

    step: int
    best_value: float
    best_step: int
    best_dir: Path | None
    final_dir: Path
    hub_url: str | None = None


class LossWindow:
    """Training losses and throughput since the last log point; losses summed on the device (no sync per step)."""

    def __init__(self, device: torch.device) -> None:
        self.total, self.terms, self.batches = torch.zeros((), device=device), {}, 0
        self.crops, self.seconds = 0, 0.0

    def add(self, loss: torch.Tensor, terms: dict[str, torch.Tensor]) -> None:
        """One batch's loss and its terms."""
        self.total += loss.detach()
        for name, value in terms.items():
            self.terms[name] = self.terms.get(name, 0.0) + value.detach()
        self.batches += 1

    def add_step(self, crops: int, seconds: float) -> None:
        """A finished step: crops trained on (all processes) and seconds spent (validation and saving excluded)."""
        self.crops += crops
        self.seconds += seconds

    def means(self, accelerator) -> dict[str, float]:
        """{"train/loss", "train/loss_l1", ...: mean over batches and processes, "train/crops_per_second"}.
        A collective operation: call in every process."""
        means = (accelerator.reduce(torch.stack([self.total, *self.terms.values()]), "mean") / self.batches).tolist()
        return {"train/loss": means[0],
                **{f"train/loss_{name}": value for name, value in zip(self.terms, means[1:], strict=True)},
                "train/crops_per_second": self.crops / max(self.seconds, 1e-9)}


@dataclass
class TrainingRun:
    """A run's parts (accelerator, model, EMA, optimizer, schedule, loss, data, validation set) and its
    state (progress, clock, loss window, last validation); `start` builds it, the phase methods run it.
    Every method is called in every process (they hold collective operations)."""

    config: TrainingConfig
    source: DataSource
    output_dir: Path
    accelerator: Any
    model: torch.nn.Module
    ema: Any
    optimizer: torch.optim.Optimizer
    scheduler: Any
    schedule: WarmupDecay
    loss_function: TrainingLoss
    loader: Any
    validation: Any
    crop_config: CropConfig
    command: str = ""
    show_progress: bool = True
    progress: TrainingProgress = field(default_factory=TrainingProgress)
    validation_crops_scored: int = 0
    last_scores: dict[str, float] | None = None
    last_scores_step: int = -1

    def __post_init__(self) -> None:
        self.options: TrainingOptions = self.config.training
        self.main_process = self.accelerator.is_main_process
        self.crops_per_step = (self.options.batch_size * self.accelerator.num_processes
                               * self.options.gradient_accumulation_steps)
        self.hub_datasets = self.source.hub_datasets() if self.main_process else []
        self.accelerator.register_for_checkpointing(self.progress)
        if self.ema is not None:
            self.accelerator.register_for_checkpointing(self.ema)
        self.window = LossWindow(self.accelerator.device)
        self.grad_norm = torch.zeros(())
        self.clock = time.perf_counter()

    # ---- start ----------------------------------------------------------------------------------

    @classmethod
    def start(cls, config: TrainingConfig, source: DataSource, output_dir: str | Path, *, resume: bool = False,
              cpu: bool = False, progress: bool = True, command: str = "") -> TrainingRun:
        """A run built from `config`, fresh or (`resume`) from the newest complete checkpoint in
        `output_dir`; `cpu` forces CPU processes. ConfigError for a config the data or folder rejects."""
        output_dir = Path(output_dir)
        check_output_dir(output_dir, run_inputs(config, source))
        resume_from = checkpoint_to_resume(output_dir, resume)
        if resume_from is not None:
            check_resumed_model(output_dir, config)
        if source.bundle is not None and config.training.validate_every and source.validation_bundle is None:
            raise ConfigError("--bundle trains without a validation set unless --validation-bundle FILE.npz is given "
                              "(export_bundle of the validation split); or set training.validate_every=0")
        accelerator = build_accelerator(config.training, output_dir, cpu)
        config, model, crops_config, crops, validation_set = build_model_and_data(config, source, accelerator)
        if config.training.init_from and resume_from is None:  # resuming, the checkpoint holds the weights
            model.load_state_dict(load_init_model(config.training.init_from).state_dict())
        prepare_output_dir(output_dir, config, resume_from, accelerator)
        loader, validation = build_loaders(config, crops, validation_set, accelerator)
        optimizer, scheduler, schedule = build_optimizer(config, model)
        # After the initial weights are in the model: the EMA starts as a copy of them.
        ema = exponential_moving_average(model, config.training.ema_decay) if config.training.ema_decay else None
        model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
        if ema is not None:
            ema.to(accelerator.device)
        run = cls(config=config, source=source, output_dir=output_dir, accelerator=accelerator, model=model, ema=ema,
                  optimizer=optimizer, scheduler=scheduler, schedule=schedule, loader=loader, validation=validation,
                  loss_function=TrainingLoss(config.loss.l1, config.loss.stft).to(accelerator.device),
                  crop_config=crops_config, command=command,
                  show_progress=progress)
        if resume_from is not None:
            load_checkpoint(accelerator, loader, resume_from, config.data.num_workers)
        run.begin(resume_from)
        return run

    def begin(self, resumed_from: Path | None) -> None:
        """Log the config and the command, say how the run starts, open its data stream (where a resumed run
        left it), its progress bar and its clock."""
        from tqdm.auto import tqdm

        accelerator, options, step = self.accelerator, self.options, self.progress.step
        accelerator.init_trackers(TRACKER_PROJECT, config=flat_hyperparameters(self.config.as_dict()))
        accelerator.log({"config": f"```yaml\n{yaml.safe_dump(self.config.as_dict(), sort_keys=False)}```",
                         "command": self.command}, step=step)
        if self.main_process:
            crop = self.crop_config
            how = (f"resumed from {resumed_from.name} at step {step}" if resumed_from else
                   f"starting from {options.init_from}" if options.init_from else "starting")
            tqdm.write(
                f"{how}: {accelerator.num_processes} process(es) on {accelerator.device}, {self.crops_per_step} crops "
                f"per step ({options.batch_size} x {accelerator.num_processes} processes x "
                f"{options.gradient_accumulation_steps} accumulation), crops of {crop.input_samples:,} -> "
                f"{crop.output_samples:,} samples; {sum(p.numel() for p in self.model.parameters()):,} parameters; "
                f"output in {self.output_dir}")
        self.batches = iter(self.loader)
        self.bar = tqdm(total=options.steps, initial=step, desc="training", unit="step", dynamic_ncols=True,
                        disable=not (self.show_progress and self.main_process))
        self.clock = time.perf_counter()

    # ---- steps ----------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.progress.step >= self.options.steps

    def train_step(self) -> None:
        """One optimizer update: `gradient_accumulation_steps` batches, then the schedule, the EMA and the counters."""
        started = time.perf_counter()
        accelerator, model = self.accelerator, self.model
        model.train()
        for _ in range(self.options.gradient_accumulation_steps):
            batch = next(self.batches)
            tracks = batch["tracks"].to(accelerator.device, non_blocking=True)
            target = batch["target"].to(accelerator.device, non_blocking=True)
            with accelerator.accumulate(model):
                loss, terms = self.loss_function(model(tracks), target)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    self.grad_norm = accelerator.clip_grad_norm_(model.parameters(),
                                                                 self.config.optimizer.max_grad_norm or math.inf)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            self.window.add(loss, terms)
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(accelerator.unwrap_model(model))
        self.progress.step += 1
        self.progress.crops += self.crops_per_step
        self.window.add_step(self.crops_per_step, time.perf_counter() - started)
        self.bar.update(1)

    def after_step(self) -> None:
        """Log every `log_every` steps, validate every `validate_every`, checkpoint every `checkpoint_every`;
        all three after the last step."""
        step, options = self.progress.step, self.options
        if step % options.log_every == 0 or self.done:
            self.log_losses()
        if self.validation is not None and (step % options.validate_every == 0 or self.done):
            self.stop_clock()
            self.report_validation(validate(self.evaluated_model(), self.validation, self.accelerator,
                                            self.crop_config.sample_rate))
        if (options.checkpoint_every and step % options.checkpoint_every == 0) or self.done:
            self.stop_clock()
            save_checkpoint(self.accelerator, self.loader, self.progress, self.output_dir, self.config.data.num_workers)

    def stop_clock(self) -> None:
        """Add the time since the clock last started to the run's training seconds, and restart it."""
        now = time.perf_counter()
        self.progress.seconds += now - self.clock
        self.clock = now

    def log_losses(self) -> None:
        values = {**self.window.means(self.accelerator), "train/lr": self.scheduler.get_last_lr()[0],
                  "train/grad_norm": float(self.grad_norm)}
        self.accelerator.log(values, step=self.progress.step)
        self.bar.set_postfix(loss=f"{values['train/loss']:.4g}", lr=f"{values['train/lr']:.3g}", refresh=False)
        self.window = LossWindow(self.accelerator.device)

    def evaluated_model(self) -> MixWaveUNet:
        """The weights validated and published: the EMA when there is one."""
        return self.ema.module if self.ema is not None else self.accelerator.unwrap_model(self.model)

    def report_validation(self, scores: dict[str, float]) -> None:
        """Log `scores` (from `validate`), save the best model when they improve on it, and say so."""
        progress, accelerator = self.progress, self.accelerator
        self.validation_crops_scored = scores["crops"]
        self.last_scores, self.last_scores_step = scores, progress.step
        accelerator.log({f"validation/{name}": scores[name] for name in VALIDATION_METRICS}, step=progress.step)
        value = scores[HEADLINE_METRIC]
        improved = not math.isnan(value) and value < progress.best_value
        if improved:
            progress.best_value, progress.best_step = value, progress.step
            progress.best_scores = {name: scores[name] for name in VALIDATION_METRICS} | {"crops": scores["crops"]}
            if self.main_process:
                save_model(self, self.output_dir / "best", f"best validation {HEADLINE_METRIC} (step {progress.step})",
                           "best validation", progress.best_scores, progress.step)
        if self.main_process:
            data = LoaderStats.from_state(self.loader.state_dict())
            self.bar.write(
                f"step {progress.step}/{self.options.steps}: validation {HEADLINE_METRIC} {value:.4g}, L1 "
                f"{scores['l1']:.4g} ({scores['crops']} crops){' *best*' if improved else ''}; best "
                f"{progress.best_value:.4g} at step {progress.best_step}; {progress.crops:,} crops trained, "
                f"{(progress.seconds / 3600):.3g} h; rank 0 data: {data.segments} segments, {data.skipped} skipped")

    # ---- finish ---------------------------------------------------------------------------------

    def finish(self, push_to_hub: str | None = None, private: bool = False) -> TrainingResult:
        """Save the final weights (OUTPUT_DIR/final), push the best (or final) model to `push_to_hub`, and
        say where everything is."""
        self.bar.close()
        self.stop_clock()
        progress, accelerator = self.progress, self.accelerator
        final_dir = self.output_dir / "final"
        best_dir = self.output_dir / "best" if progress.best_step >= 0 else None
        if self.main_process:
            final_scores = self.last_scores if self.last_scores_step == progress.step else None
            save_model(self, final_dir, f"weights at the end of training (step {progress.step})", "validation",
                       final_scores, progress.step)
        accelerator.wait_for_everyone()
        hub_url = None
        if push_to_hub and self.main_process:
            from mixwave_hf.publish import push_model

            hub_url = push_model(best_dir or final_dir, push_to_hub, private=private)
            self.bar.write(f"pushed {best_dir or final_dir} to {hub_url}")
        if self.main_process:
            best = (f"best {HEADLINE_METRIC} {progress.best_value:.4g} at step {progress.best_step} in {best_dir}"
                    if best_dir else "no validation")
            self.bar.write(f"done: {progress.step} steps, {progress.seconds / 3600:.3g} h; {best}; final weights "
                           f"in {final_dir}")
        accelerator.end_training()
        return TrainingResult(progress.step, progress.best_value if best_dir else math.nan, progress.best_step,
                              best_dir, final_dir, hub_url)


def run_inputs(config: TrainingConfig, source: DataSource) -> dict[str, str | None]:
    """What a run reads, by option: the data's paths or Hub ids, and the model it starts from (None for
    none, or the embedded default model: no file of the user's)."""
    init_from = config.training.init_from
    return {"--dataset": source.dataset, "--bundle": source.bundle, "--validation-bundle": source.validation_bundle,
            "--init-from": None if init_from == DEFAULT_INIT else init_from}


def train(config: TrainingConfig, source: DataSource, output_dir: str | Path, *, resume: bool = False,
          cpu: bool = False, push_to_hub: str | None = None, private: bool = False, record_crops: bool = False,
          progress: bool = True, command: str = "") -> TrainingResult:
    """Train a MixWaveUNet as configured, writing checkpoints, logs and models under `output_dir`.

    Run it in every process of an `accelerate launch` (or alone on one device). `resume`: continue
    from the newest complete checkpoint. `cpu`: CPU processes even where a GPU is present.
    `push_to_hub`: upload the best model (or the final one, without validation) at the end.
    `record_crops`: each process writes `crops-rank{rank}.json` (`crop_log.CropLog`).
    `command`: the command line, for the card.
    """
    run = TrainingRun.start(config, source, output_dir, resume=resume, cpu=cpu, progress=progress, command=command)
    if record_crops:
        from mixwave_hf.training.crop_log import CropLog

        crop_log = CropLog.attach(run)
    while not run.done:
        run.train_step()
        run.after_step()
    result = run.finish(push_to_hub, private)
    if record_crops:
        crop_log.write()
    return result
