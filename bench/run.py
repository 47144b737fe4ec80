"""`make bench`: the inference, data and training benchmarks in one run, and one table of their figures.

Each section prints its own detailed table first (bench/inference.py, bench/data.py,
bench/training.py); the summary puts the figures that matter side by side, with ratios measured in
this run. A GPU section runs when CUDA is available and says it was skipped otherwise.
Run: `make bench` or `.venv/bin/python -m bench.run [--quick]`.
"""

from __future__ import annotations

import argparse

import torch

from bench import data, inference
from bench.training import SMALL_CONFIG, measure_training
from mixwave_hf.mixing import mix_tracks
from mixwave_hf.model import MixWaveUNet


def gpu_figures() -> dict | None:
    """CUDA training throughput (fp32 and bf16 autocast, batch 16), its peak memory, and the mixing
    real-time factor of a 60 s song; None without CUDA."""
    if not torch.cuda.is_available():
        return None
    figures = {precision: measure_training(MixWaveUNet(), 16, 20, "cuda", bf16=precision == "bf16")
               for precision in ("fp32", "bf16")}
    model = MixWaveUNet().cuda().eval()
    tracks = inference.random_song(60.0)
    mix_tracks(model, tracks, inference.RATE)
    torch.cuda.synchronize()
    figures["mix_rtf"] = inference.timed(lambda: mix_tracks(model, tracks, inference.RATE)) / 60.0
    figures["device"] = torch.cuda.get_device_name()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter songs and fewer repeats (rougher figures)")
    args = parser.parse_args()
    seconds, long_seconds, repeats = (20.0, 120.0, 1) if args.quick else (60.0, 600.0, 2)

    print("== inference ==")
    speed = inference.measure(seconds, long_seconds, repeats)
    inference.report(speed)
    print("\n== data ==")
    loading = data.measure(songs=4 if args.quick else 8)
    data.report(loading)
    print("\n== training (CPU) ==")
    paper = loading["model"]
    small = measure_training(MixWaveUNet(**SMALL_CONFIG), 4, 3)
    gpu = gpu_figures()

    default = speed["settings"][inference.DEFAULT]
    rendered = loading["rendered"]
    bundle_per_core = loading["bundled"]["crops"] / loading["bundled"]["cpu"]
    render_speed = "skipped" if rendered is None else f"{rendered['audio_seconds'] / rendered['wall']:.1f}"
    rows = [
        (f"mix a {seconds:.0f} s song, CPU (real-time factor)", f"{default['rtf']:.4f}",
         f"{default['speedup']:.2f}x faster than the original scheme (target 1.3x)"),
        ("  achieved GFLOP/s", f"{default['gflops']:.0f}",
         f"{default['gflops'] / speed['matmul_gflops']:.2f} of a 2048^2 fp32 matmul ({speed['matmul_gflops']:.0f})"),
        (f"  working memory, {long_seconds:.0f} s vs {seconds:.0f} s song",
         f"{speed['memory'][long_seconds]['working'] / 2**20:.0f} MB",
         f"{speed['memory_ratio']:.2f}x (target <= 1.25x)"),
        ("streaming loader, crops/s per core", f"{loading['per_core']:.1f}",
         f"{loading['per_core'] / paper['crops_per_second']:.0f}x what CPU training consumes (target >= 20)"),
        ("bundle loader, crops/s per core", f"{bundle_per_core:.0f}",
         f"{bundle_per_core / loading['per_core']:.0f}x the streaming loader"),
        ("renderer, s of 8-track audio per s (1 core)", render_speed, "real-time multiple"),
        ("train paper model, CPU batch 4: steps/s", f"{1 / paper['step_seconds']:.2f}",
         f"{paper['crops_per_second']:.2f} crops/s"),
        (f"train small model ({SMALL_CONFIG['levels']} levels, {SMALL_CONFIG['base_channels']} ch), CPU: steps/s",
         f"{1 / small['step_seconds']:.2f}", f"{paper['step_seconds'] / small['step_seconds']:.1f}x the paper model"),
    ]
    if gpu is None:
        rows.append(("GPU", "skipped", "no CUDA on this machine"))
    else:
        for precision in ("fp32", "bf16"):
            figures = gpu[precision]
            rows.append((f"train paper model, {gpu['device']} {precision} batch 16: steps/s",
                         f"{1 / figures['step_seconds']:.1f}",
                         f"{figures['crops_per_second'] / paper['crops_per_second']:.0f}x CPU crops/s, peak "
                         f"{figures['peak_memory_gb']:.1f} GB"))
        rows.append(("mix a 60 s song, GPU (real-time factor)", f"{gpu['mix_rtf']:.4f}",
                     f"{default['rtf'] / gpu['mix_rtf']:.0f}x faster than on this CPU"))
    width = max(len(row[0]) for row in rows)
    print(f"\n== summary (torch {torch.__version__}, {torch.get_num_threads()} CPU threads) ==")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:>10}  {ratio}")


if __name__ == "__main__":
    main()
