"""What only a GPU machine can check: `python -m bench.cuda` (exits 1 when a check fails).

- the STFT loss's hand-written backward on CUDA and autograd through `torch.stft`, both in float32
  against the latter in float64 (value, gradient) and timed, at the default model's crops (batch 8)
  and the paper's (16);
- `mix_tracks` on CUDA against the CPU mix of the embedded default model on the bundled example;
- bench.run's GPU figures: the paper model's training step in fp32 and bf16 autocast (batch 16) and
  the real-time factor of mixing a 60 s song;
- a short `train_accelerate.py` run on CUDA in bf16 on a synthetic bundle, checkpointed and resumed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.run import gpu_figures
from bench.training import REPOSITORY, training_config, write_bundle
from mixwave_hf.audio import read_tracks
from mixwave_hf.metrics import STFT_FFT_SIZES
from mixwave_hf.mixing import mix_tracks
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.resources import DEFAULT_MODEL_DIR, EXAMPLE_FILE_NAMES, example_stems
from mixwave_hf.stft_loss import EPS, SumAndDifferenceSTFTLoss
from mixwave_hf.training.checkpoints import CHECKPOINT_MARKER


def autograd_stft_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The same loss the plain way: `torch.stft` with autograd all through (the reference)."""
    total = estimate.new_zeros(())
    for size in STFT_FFT_SIZES:
        window = torch.hann_window(size, device=estimate.device)
        for combine in (torch.add, torch.sub):
            spectra = [torch.stft(combine(audio[:, 0], audio[:, 1]), size, size // 4, size, window,
                                  return_complex=True) for audio in (estimate, target)]
            estimated, reference = (torch.sqrt(torch.clamp(spectrum.abs() ** 2, min=EPS)) for spectrum in spectra)
            total = total + torch.linalg.vector_norm(reference - estimated) / torch.linalg.vector_norm(reference)
            total = total + (torch.log(estimated) - torch.log(reference)).abs().mean()
    return total / (2 * len(STFT_FFT_SIZES))


def cuda_milliseconds(run, repeats: int = 20) -> float:
    run()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats * 1e3


def check_stft_loss(batch: int, samples: int) -> dict:
    """The hand-written loss and the autograd reference in float32 on CUDA, each against the reference
    in float64: {name: (value, gradient) relative differences, f"{name} ms": milliseconds}."""
    generator = torch.Generator(device="cuda").manual_seed(0)
    estimate = 0.1 * torch.randn(batch, 2, samples, device="cuda", generator=generator)
    target = 0.1 * torch.randn(batch, 2, samples, device="cuda", generator=generator)
    loss = SumAndDifferenceSTFTLoss(STFT_FFT_SIZES).cuda()

    def step(function, dtype=torch.float32):
        leaf = estimate.to(dtype, copy=True).requires_grad_()
        value = function(leaf, target.to(dtype))
        value.backward()
        return value.detach().double(), leaf.grad.double()

    exact, exact_gradient = step(autograd_stft_loss, torch.float64)
    figures = {}
    for name, function in (("hand-written", loss), ("autograd", autograd_stft_loss)):
        value, gradient = step(function)
        figures[name] = (float((value - exact).abs() / exact),
                         float((gradient - exact_gradient).abs().max() / exact_gradient.abs().max()))
        figures[f"{name} ms"] = cuda_milliseconds(lambda function=function: step(function))
    return figures


def check_mix() -> float:
    """Largest |CUDA mix - CPU mix| of the bundled example, relative to the CPU mix's peak."""
    model = MixWaveUNet.from_pretrained(DEFAULT_MODEL_DIR)
    tracks, rate, _ = read_tracks(dict(zip(EXAMPLE_FILE_NAMES, example_stems(), strict=True)))
    on_cpu = mix_tracks(model, tracks, rate, device="cpu").audio
    on_cuda = mix_tracks(model, tracks, rate, device="cuda").audio
    return float(np.abs(on_cuda - on_cpu).max() / np.abs(on_cpu).max())


def train_and_resume(directory: Path, bundle: Path | None = None) -> dict:
    """30 bf16 steps of the default model's configuration on CUDA with a checkpoint at 20, then a resume
    to 40, on `bundle` (default: a synthetic one written here, which needs `datasets`); returns each
    run's wall seconds and the newest checkpoint's marker."""
    bundle = bundle or write_bundle(directory / "data", training_config())
    command = [sys.executable, str(REPOSITORY / "train_accelerate.py"), "--bundle", str(bundle),
               "--config", str(REPOSITORY / "configs" / "default_model_cpu.yaml"), "--output-dir",
               str(directory / "run"), "--mixed-precision", "bf16", "--batch-size", "16",
               "--checkpoint-every", "20", "--validate-every", "0", "--no-progress"]
    seconds = {}
    for name, extra in (("first run", ["--steps", "30"]), ("resumed run", ["--steps", "40", "--resume"])):
        start = time.perf_counter()
        subprocess.run(command + extra, check=True)
        seconds[name] = time.perf_counter() - start
    newest = max((directory / "run" / "checkpoints").glob("checkpoint_*"), key=lambda folder: int(folder.name[11:]))
    return {**seconds, "checkpoint": json.loads((newest / CHECKPOINT_MARKER).read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="training bundle for the train-and-resume check "
                        "(default: write a synthetic one, which needs the datasets library)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench.cuda needs CUDA; this machine has none")
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    failed = []
    for batch, samples in ((8, 22_277), (16, 22_533)):
        figures = check_stft_loss(batch, samples)
        print(f"STFT loss, batch {batch} x {samples} samples, forward + backward in float32: hand-written "
              f"{figures['hand-written ms']:.2f} ms, autograd through torch.stft {figures['autograd ms']:.2f} ms; "
              "from float64, value and gradient (of its peak) differ by "
              + ", ".join(f"{figures[name][0]:.1e} and {figures[name][1]:.1e} ({name})"
                          for name in ("hand-written", "autograd")))
        value_error, gradient_error = figures["hand-written"]
        if value_error > 1e-5 or gradient_error > max(1e-4, 2 * figures["autograd"][1]):
            failed.append(f"STFT loss at batch {batch}")
    mix_difference = check_mix()
    print(f"default model on the example: CUDA mix differs from the CPU mix by {mix_difference:.1e} of its peak")
    if mix_difference > 1e-3:  # cuDNN's convolutions run in TF32 by default
        failed.append("CUDA mix")
    gpu = gpu_figures()
    for precision in ("fp32", "bf16"):
        print(f"paper model training step, {precision}, batch 16: {gpu[precision]['step_seconds'] * 1e3:.1f} ms, "
              f"{gpu[precision]['crops_per_second']:.0f} crops/s, peak {gpu[precision]['peak_memory_gb']:.1f} GB")
    print(f"paper model mixing a 60 s song: real-time factor {gpu['mix_rtf']:.4f}")
    with tempfile.TemporaryDirectory(prefix="mixwave-cuda-") as directory:
        run = train_and_resume(Path(directory), args.bundle)
    print(f"train_accelerate.py on CUDA, bf16, batch 16: 30 steps in {run['first run']:.0f} s, resumed to 40 in "
          f"{run['resumed run']:.0f} s (wall, start-up included); newest checkpoint: {run['checkpoint']}")
    if failed:
        sys.exit("FAILED: " + ", ".join(failed))
    print("all CUDA checks passed")


if __name__ == "__main__":
    main()
