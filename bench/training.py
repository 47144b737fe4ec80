"""Training throughput on the CPU: the training step of `mixwave_hf.training.train`, part by part.

For a model configuration (the default model's, configs/default_model_cpu.yaml, and the paper's)
this runs the step of the train loop with its real pieces: crops from a small int16 bundle through
`BundleDataset` and the `StatefulDataLoader` (`training.training_crops`), `TrainingLoss` (L1 +
stereo STFT as configured), gradient clipping, Adam, the learning-rate schedule and the EMA
(`training.exponential_moving_average`). It prints, measured in this run:
- steps/s and crops/s; the network's FLOPs per step (forward + backward, counted from the layers'
  shapes with FlopCounterMode) and the GFLOP/s achieved, as a fraction of this CPU's fp32 FMA ceiling
  at the same thread count (bench/cpu.py) and of a 2048^2 matmul's;
- milliseconds per step in each part: loading, forward, loss (forward and backward), network
  backward, optimizer (clip, Adam, schedule), EMA; and the fraction spent outside the network;
- the default configuration's four rows (before, 1 thread, 2 threads, 1 thread + a loader process) take
  their steps in turns (`measure_in_turns`), so that a machine whose speed drifts slows them alike;
- on 1 and 2 threads, the step (forward, loss, backward) with the long-kernel convolutions of CPU
  training (`cpu_training_convolutions`) against oneDNN's own backward: interleaved, same weights and
  batch, the median ratio of the pairs.
The loss's backward is split from the network's by running it on a detached copy of the output
and passing its gradient on (the same gradients as one backward through both).

Run: `.venv/bin/python -m bench.training [--steps 6] [--threads 1]` (CUDA figures when available).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.cpu import fma_ceiling, share
from mixwave_hf.data.loader import export_bundle
from mixwave_hf.metrics import STFT_FFT_SIZES
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.training import (
    DataSource,
    TrainingConfig,
    TrainingLoss,
    WarmupDecay,
    exponential_moving_average,
    load_config_file,
    training_crops,
)
from mixwave_hf.training.convolutions import cpu_training_convolutions

REPOSITORY = Path(__file__).resolve().parent.parent
#: The shipped default model's training configuration.
DEFAULT_MODEL_CONFIG = REPOSITORY / "configs" / "default_model_cpu.yaml"
#: The paper model trained with the default model's data and loss options, at a CPU-sized batch.
PAPER_OVERRIDES = {"model": {"levels": 10, "base_channels": 24}, "training": {"batch_size": 4}}
#: The default model's training step before this benchmark's speed work: one thread, auraloss's STFT loss,
#: oneDNN's backward of every convolution.
BEFORE = "default, 1 thread, auraloss (before)"
PARTS = ("load", "forward", "loss", "backward", "optimizer", "ema")
NETWORK_PARTS = ("forward", "backward")


def training_config(overrides: dict | None = None) -> TrainingConfig:
    """configs/default_model_cpu.yaml with `overrides` ({section: {option: value}}) applied."""
    values = load_config_file(DEFAULT_MODEL_CONFIG)
    for section, options in (overrides or {}).items():
        values.setdefault(section, {}).update(options)
    return TrainingConfig.from_dict(values)


def write_bundle(directory: Path, config: TrainingConfig, songs: int = 4, seconds: float = 20.0) -> Path:
    """A small int16 training bundle of synthetic songs (bench.data's fixtures), cut for `config`'s model."""
    from bench.data import write_synthetic_dataset

    write_synthetic_dataset(directory / "synthetic", songs, seconds, shards=1)
    bundle = directory / "train.npz"
    export_bundle(directory / "synthetic", "train", bundle, config.crop_config(),
                  progress=False)
    return bundle


def bench_model(config: TrainingConfig) -> MixWaveUNet:
    """The configured model; a balance gain the config leaves to fitting is set to 0 dB (speed is the same)."""
    return MixWaveUNet(config.model, balance_gain_db=config.model.balance_gain_db or 0.0)


def network_flops(model: MixWaveUNet, batch_size: int, input_samples: int) -> int:
    """FLOPs of one forward + backward of the network on [batch_size, slots, input_samples] crops."""
    tracks = torch.zeros(batch_size, len(model.slot_names), input_samples)
    with FlopCounterMode(display=False) as counter:
        model(tracks).sum().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def gradient_model(config: TrainingConfig) -> MixWaveUNet:
    """The configured model (seeded, training mode) with its output layer drawn at random: a balance
    initialisation gives the features zero weight, so no gradient would reach the other layers."""
    torch.manual_seed(config.training.seed)
    model = bench_model(config).train()
    with torch.no_grad():
        model.output.weight.normal_(std=0.01)
    return model


def random_batch(model: MixWaveUNet, config: TrainingConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random batch of the configuration's crops: [batch, slots, input] tracks, [batch, 2, output] target."""
    lengths = config.crop_config()
    generator = torch.Generator().manual_seed(0)
    tracks = 0.1 * torch.randn(config.training.batch_size, len(model.slot_names), lengths.input_samples,
                               generator=generator)
    target = 0.1 * torch.randn(config.training.batch_size, 2, lengths.output_samples, generator=generator)
    return tracks, target


def timed_step(model: MixWaveUNet, loss_function: TrainingLoss, tracks: torch.Tensor, target: torch.Tensor) -> float:
    """Zero the gradients, then one forward, loss and backward; the seconds of the latter three."""
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    loss_function(model(tracks), target)[0].backward()
    return time.perf_counter() - start


class TrainingPipeline:
    """One configuration's training step with its real pieces (module docstring), set up once and stepped on
    demand, so that rows can be measured in turns: `threads` torch threads during its steps (None: as set),
    `num_workers` loader processes (None: as configured), the model's convolutions as CPU training runs them
    (`cpu_training_convolutions`); `before`: as training ran before bench/training.py existed (auraloss's STFT
    term, oneDNN's backward of every convolution)."""

    def __init__(self, config: TrainingConfig, bundle: Path, threads: int | None = None,
                 num_workers: int | None = None, before: bool = False) -> None:
        from torchdata.stateful_dataloader import StatefulDataLoader

        self.config, self.threads = config, threads
        torch.manual_seed(config.training.seed)
        self.model = bench_model(config).train()
        if not before:
            cpu_training_convolutions(self.model)
        self.crops_config = config.crop_config()
        self.crops = training_crops(DataSource(bundle=str(bundle)), self.crops_config, config.data, rank=0,
                                    world_size=1)
        self.workers = config.data.num_workers if num_workers is None else num_workers
        self.batches = iter(StatefulDataLoader(self.crops, batch_size=config.training.batch_size,
                                               num_workers=self.workers))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.optimizer.lr,
                                          betas=config.optimizer.betas)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, WarmupDecay.from_options(config.schedule, config.training.steps))
        decay = config.training.ema_decay
        self.ema = exponential_moving_average(self.model, decay) if decay else None
        self.loss_function = TrainingLoss(config.loss.l1, config.loss.stft)
        if before:
            self.loss_function.stft = auraloss_stft_loss()
        self.max_norm = config.optimizer.max_grad_norm or math.inf
        self.seconds, self.steps = dict.fromkeys(PARTS, 0.0), 0

    def warm(self) -> None:
        """A warm epoch of the bundle (the levelling gains are cached after it), not counted."""
        crops_per_epoch = len(self.crops.segments) * self.crops_config.crops_per_segment
        for _ in range(-(-crops_per_epoch // self.config.training.batch_size) + 1):
            self.step(counted=False)

    def step(self, counted: bool = True) -> None:
        """One training step on `threads` threads, its parts' seconds added to the counts (if `counted`)."""
        previous_threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        seconds = dict.fromkeys(PARTS, 0.0)
        clock = [time.perf_counter()]

        def lap(part: str) -> None:
            now = time.perf_counter()
            seconds[part] += now - clock[0]
            clock[0] = now

        try:
            batch = next(self.batches)
            lap("load")
            estimate = self.model(batch["tracks"])
            lap("forward")
            detached = estimate.detach().requires_grad_()
            loss, _ = self.loss_function(detached, batch["target"])
            loss.backward()
            lap("loss")
            estimate.backward(detached.grad)
            lap("backward")
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_norm)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.scheduler.step()
            lap("optimizer")
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            lap("ema")
        finally:
            torch.set_num_threads(previous_threads)
        if counted:
            self.steps += 1
            for part, value in seconds.items():
                self.seconds[part] += value

    def figures(self) -> dict:
        """Seconds per counted step and per part, steps/s, crops/s, the network's FLOPs and GFLOP/s."""
        parts = {part: value / self.steps for part, value in self.seconds.items()}
        step_seconds = sum(parts.values())
        network = sum(parts[part] for part in NETWORK_PARTS)
        batch_size = self.config.training.batch_size
        flops = network_flops(self.model, batch_size, self.crops_config.input_samples)
        return {"step_seconds": step_seconds, "steps_per_second": 1 / step_seconds,
                "crops_per_second": batch_size / step_seconds, "parts": parts,
                "outside_fraction": 1 - network / step_seconds, "gflop": flops / 1e9,
                "gflops": flops / step_seconds / 1e9, "network_gflops": flops / network / 1e9,
                "threads": self.threads or torch.get_num_threads(), "num_workers": self.workers,
                "batch_size": batch_size, "input_samples": self.crops_config.input_samples,
                "output_samples": self.crops_config.output_samples}


def measure_pipeline(config: TrainingConfig, bundle: Path, steps: int = 6, threads: int | None = None,
                     num_workers: int | None = None, before: bool = False) -> dict:
    """`TrainingPipeline.figures` of one configuration alone: a warm epoch, then `steps` counted steps."""
    return measure_in_turns({"row": TrainingPipeline(config, bundle, threads, num_workers, before)}, steps)["row"]


def measure_in_turns(pipelines: dict[str, TrainingPipeline], steps: int) -> dict[str, dict]:
    """Each pipeline's figures, their counted steps taken in turns (one step each per round, the order reversed
    every other round) after each one's warm epoch: a machine whose speed drifts during the run (a busy or
    virtual one) then slows every row alike, and their ratios hold."""
    for pipeline in pipelines.values():
        pipeline.warm()
    for round_ in range(steps):
        for pipeline in (list(pipelines.values()) if round_ % 2 == 0 else reversed(list(pipelines.values()))):
            pipeline.step()
    return {name: pipeline.figures() for name, pipeline in pipelines.items()}


def auraloss_stft_loss() -> torch.nn.Module:
    """auraloss's sum-and-difference STFT loss at the metric's sizes (the same value as ours, its own speed)."""
    import auraloss

    return auraloss.freq.SumAndDifferenceSTFTLoss(fft_sizes=list(STFT_FFT_SIZES),
                                                  hop_sizes=[size // 4 for size in STFT_FFT_SIZES],
                                                  win_lengths=list(STFT_FFT_SIZES))


def measure_cpu_training(steps: int = 6, paper_steps: int = 2) -> dict[str, dict]:
    """The default model's configuration as it was trained before the speed work (`BEFORE`), on 1 and on 2
    threads (and on 1 thread with a loader process), these four in turns (`measure_in_turns`), then the paper
    model's on all threads, each model with its own small bundle; each row carries the FMA ceiling
    ("ceiling_gflops", None where it cannot be measured) and the torch matmul GFLOP/s ("matmul_gflops") of its
    thread count."""
    from bench.cpu import torch_matmul_gflops

    default, paper = training_config(), training_config(PAPER_OVERRIDES)
    with tempfile.TemporaryDirectory(prefix="mixwave-bench-training-") as directory:
        default_bundle = write_bundle(Path(directory) / "default", default)
        paper_bundle = write_bundle(Path(directory) / "paper", paper)
        figures = measure_in_turns({
            BEFORE: TrainingPipeline(default, default_bundle, threads=1, before=True),
            "default, 1 thread": TrainingPipeline(default, default_bundle, threads=1),
            "default, 2 threads": TrainingPipeline(default, default_bundle, threads=2),
            "default, 1 thread + 1 loader process": TrainingPipeline(default, default_bundle, threads=1,
                                                                     num_workers=1)}, steps)
        figures["paper"] = measure_pipeline(paper, paper_bundle, paper_steps)
    for threads in {row["threads"] for row in figures.values()}:
        ceiling, matmul = fma_ceiling(threads), torch_matmul_gflops(threads)
        for row in figures.values():
            if row["threads"] == threads:
                row["ceiling_gflops"], row["matmul_gflops"] = ceiling and ceiling.gflops, matmul
    return figures


def thread_counts() -> list[int]:
    """1 and 2 threads, or 1 alone on a single-CPU machine: the thread counts the CPU rows compare."""
    return [1, 2] if (os.cpu_count() or 1) > 1 else [1]


def measure_long_kernel_backward(threads: int, pairs: int = 6) -> dict[str, float]:
    """The default configuration's step (forward, training loss, backward; no optimizer) with
    `cpu_training_convolutions` against oneDNN's own backward on `threads` threads: the two models hold
    the same weights (the output layer's drawn at random, so that gradients reach the convolutions) and see
    the same batch, their steps alternate (the first of each pair swapping),
    after one warm step each. Returns the best seconds of each ("long_kernel", "onednn"), the median of
    the pairs' ratios onednn / long_kernel ("speedup"), the network GFLOP/s of the faster and the
    largest gradient difference as a fraction of that gradient's peak."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        config = training_config()
        models = {"onednn": gradient_model(config)}
        models["long_kernel"] = cpu_training_convolutions(copy.deepcopy(models["onednn"]))
        tracks, target = random_batch(models["onednn"], config)
        loss_function = TrainingLoss(config.loss.l1, config.loss.stft)

        def step(name: str) -> float:
            return timed_step(models[name], loss_function, tracks, target)

        for name in models:
            step(name)
        difference = max(float((a.grad - b.grad).abs().max() / b.grad.abs().max().clamp(min=1e-30))
                         for a, b in zip(models["long_kernel"].parameters(), models["onednn"].parameters(),
                                         strict=True))
        seconds: dict[str, list[float]] = {name: [] for name in models}
        for pair in range(pairs):
            for name in (models if pair % 2 == 0 else reversed(models)):
                seconds[name].append(step(name))
        flops = network_flops(models["onednn"], config.training.batch_size, tracks.shape[-1])
    finally:
        torch.set_num_threads(previous)
    ratios = [slow / fast for slow, fast in zip(seconds["onednn"], seconds["long_kernel"], strict=True)]
    return {"threads": threads, "pairs": pairs, "onednn": min(seconds["onednn"]),
            "long_kernel": min(seconds["long_kernel"]), "speedup": statistics.median(ratios),
            "gflops": flops / min(seconds["long_kernel"]) / 1e9, "gradient_difference": difference}


def measure_cpu_bf16(pairs: int = 4) -> dict:
    """bf16 autocast on this CPU against fp32, where it has bf16 hardware (`bench.cpu.bf16_units`): the
    default configuration's bare step (`measure_training`, batch 8, its crop), alternating, the best
    seconds of each and the median ratio of the pairs ("speedup", fp32 / bf16). Without such hardware
    {"skipped": why} (torch would emulate bf16 with fp32 arithmetic and conversions)."""
    from bench.cpu import bf16_units, this_cpu

    info = this_cpu()
    units = bf16_units(info)
    if units is None:
        return {"skipped": f"{info.model} has neither AMX-BF16 nor AVX512-BF16 (no amx_bf16 or avx512_bf16 in "
                           "/proc/cpuinfo): bf16 would be emulated, not faster"}
    config = training_config()
    model = bench_model(config)
    output_samples = config.data.crop_output_samples
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for pair in range(pairs + 1):  # the first pair warms
        for precision in (("fp32", "bf16") if pair % 2 == 0 else ("bf16", "fp32")):
            figures = measure_training(model, config.training.batch_size, 1, bf16=precision == "bf16",
                                       output_samples=output_samples)
            if pair:
                seconds[precision].append(figures["step_seconds"])
    ratios = [fp32 / bf16 for fp32, bf16 in zip(seconds["fp32"], seconds["bf16"], strict=True)]
    return {"units": units, "threads": torch.get_num_threads(), "fp32": min(seconds["fp32"]),
            "bf16": min(seconds["bf16"]), "speedup": statistics.median(ratios)}


def report(figures: dict[str, dict]) -> None:
    """Print the training table: throughput, GFLOP/s against the FMA ceiling and the matmul, the parts of a step."""
    print(f"{'configuration':<40} {'batch':>5} {'steps/s':>8} {'crops/s':>8} {'GFLOP':>6} {'GFLOP/s':>8} "
          f"{'of ceiling':>10} {'of matmul':>9}  ms per step: " + ", ".join(PARTS) + "; outside the network")
    for name, row in figures.items():
        parts = ", ".join(f"{1e3 * row['parts'][part]:.0f}" for part in PARTS)
        print(f"{name:<40} {row['batch_size']:5d} {row['steps_per_second']:8.2f} {row['crops_per_second']:8.2f} "
              f"{row['gflop']:6.1f} {row['gflops']:8.1f} {share(row['gflops'], row['ceiling_gflops']):>10} "
              f"{row['gflops'] / row['matmul_gflops']:9.2f}  {parts}; {row['outside_fraction']:.0%}")
    references = {row["threads"]: row for row in figures.values()}
    print(f"(crops of {figures['paper']['input_samples']:,} -> {figures['paper']['output_samples']:,} samples for the "
          f"paper model, {figures['default, 1 thread']['input_samples']:,} -> "
          f"{figures['default, 1 thread']['output_samples']:,} for the default model; GFLOP/s = network FLOPs per "
          "step / step time; 'of ceiling': of this CPU's fp32 FMA ceiling on as many threads (bench/cpu.py), "
          "'of matmul': of a 2048x2048 fp32 torch matmul on as many threads: "
          + "; ".join(f"{threads} thread(s) ceiling {row['ceiling_gflops'] or float('nan'):.0f}, matmul "
                      f"{row['matmul_gflops']:.0f} GFLOP/s" for threads, row in sorted(references.items())) + ")")


def report_long_kernel_backward(rows: list[dict]) -> None:
    """Print `measure_long_kernel_backward`'s A/B rows."""
    print("default configuration, forward + loss + backward, long-kernel convolutions (cpu_training_convolutions) "
          "against oneDNN's backward, interleaved:")
    for row in rows:
        ceiling = fma_ceiling(row["threads"])
        print(f"  {row['threads']} thread(s): {1e3 * row['onednn']:.0f} -> {1e3 * row['long_kernel']:.0f} ms "
              f"(best of {row['pairs']}), median ratio of the pairs {row['speedup']:.2f}x; {row['gflops']:.0f} GFLOP/s "
              f"= {share(row['gflops'], ceiling and ceiling.gflops)} of the ceiling; gradients "
              f"{row['gradient_difference']:.1e} of their peak apart")


def report_cpu_bf16(bf16: dict) -> None:
    """Print `measure_cpu_bf16`'s line."""
    print(f"CPU bf16 autocast: skipped ({bf16['skipped']})" if "skipped" in bf16 else
          f"CPU bf16 autocast ({bf16['units']}, {bf16['threads']} threads), default configuration's bare step: "
          f"fp32 {1e3 * bf16['fp32']:.0f} ms, bf16 {1e3 * bf16['bf16']:.0f} ms, {bf16['speedup']:.2f}x")


def measure_training(model: MixWaveUNet, batch_size: int = 4, steps: int = 3, device: str = "cpu",
                     bf16: bool = False, output_samples: int = 88_200) -> dict[str, float]:
    """Seconds per bare training step (forward + L1 + backward + Adam, random crops of the model's valid
    size for `output_samples`, no loader); returns step_seconds, crops_per_second and, on CUDA,
    peak_memory_gb. For the GPU figures and bench.data's appetite of the model."""
    torch.manual_seed(0)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    lengths = model.valid_lengths(output_samples)
    tracks = torch.randn(batch_size, len(model.slot_names), lengths.input, device=device) * 0.1
    target = torch.randn(batch_size, model.outputs, lengths.output, device=device) * 0.1

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.l1_loss(model(tracks).float(), target)
        loss.backward()
        optimizer.step()

    def synchronise() -> None:
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    step()  # warm
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    synchronise()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronise()
    seconds = (time.perf_counter() - start) / steps
    figures = {"step_seconds": seconds, "crops_per_second": batch_size / seconds}
    if torch.device(device).type == "cuda":
        figures["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps of the default model's configuration")
    parser.add_argument("--paper-steps", type=int, default=2, help="timed steps of the paper model")
    parser.add_argument("--pairs", type=int, default=6, help="interleaved step pairs of the long-kernel A/B")
    args = parser.parse_args()
    report(measure_cpu_training(args.steps, args.paper_steps))
    report_long_kernel_backward([measure_long_kernel_backward(threads, args.pairs)
                                 for threads in thread_counts()])
    report_cpu_bf16(measure_cpu_bf16())
    if torch.cuda.is_available():
        for bf16 in (False, True):
            figures = measure_training(MixWaveUNet(), 16, 20, "cuda", bf16)
            print(f"CUDA paper {'bf16' if bf16 else 'fp32'} batch 16: {figures['step_seconds'] * 1e3:.0f} ms/step, "
                  f"{figures['crops_per_second']:.0f} crops/s, peak {figures['peak_memory_gb']:.1f} GB")
    else:
        print("CUDA: skipped (no GPU on this machine)")


if __name__ == "__main__":
    main()
