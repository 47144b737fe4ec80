"""Inference benchmark: mixing an 8-track song with the paper-size model on the CPU.

Prints, all measured in this one run (machines are noisy: compare ratios, not absolute figures):
- seconds, real-time factor (processing time / song duration) and achieved GFLOP/s for the
  original scheme (one 89,093-sample output window per forward pass, batch 1, windows stepped by
  89,093 samples) and for mix_tracks at several window and batch settings;
- the speed ratio of each against the original scheme on the same audio;
- the GFLOP/s as fractions of this CPU's fp32 FMA ceiling on as many threads (bench/cpu.py), and a
  2048x2048 fp32 torch matmul's GFLOP/s in the same process beside it;
- peak memory of mix_tracks for a 60 s and a 600 s song (each in a fresh process), beyond the
  input and output buffers.

Run: `.venv/bin/python -m bench.inference [--seconds 60] [--long-seconds 600]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.cpu import fma_ceiling, share, torch_matmul_gflops
from mixwave_hf.mixing import mix_tracks
from mixwave_hf.model import MixWaveUNet

RATE = 44_100
#: The original implementation's output window in samples (121,843 input samples for the paper model).
ORIGINAL_OUTPUT = 89_093


def random_song(seconds: float, seed: int = 0) -> dict[str, np.ndarray]:
    """8 tracks of noise bursts at recording levels (the model's speed does not depend on content)."""
    rng = np.random.default_rng(seed)
    model_slots = MixWaveUNet().slot_names
    length = int(seconds * RATE)
    envelope = np.exp(-(np.arange(length) % (RATE // 2)) / (0.05 * RATE)).astype(np.float32)
    return {slot: (0.1 * rng.standard_normal(length, dtype=np.float32) * envelope) for slot in model_slots}


def original_scheme(model: MixWaveUNet, tracks: dict[str, np.ndarray]) -> np.ndarray:
    """The original implementation's way: zero-padded windows of the model's shortest valid size with at
    least 89,093 outputs (121,843 -> 89,093 samples for the paper model), one per forward pass, batch 1."""
    lengths = model.valid_lengths(ORIGINAL_OUTPUT)
    song = torch.from_numpy(np.stack([tracks[slot] for slot in model.slot_names]))
    length = song.shape[-1]
    padded = torch.nn.functional.pad(song, (lengths.context, lengths.context + lengths.output))
    outputs = []
    with torch.inference_mode():
        for start in range(0, length, lengths.output):
            outputs.append(model(padded[None, :, start : start + lengths.input])[0])
    return torch.cat(outputs, dim=-1)[:, :length].numpy()


def ceiling_gflops(threads: int) -> float | None:
    """This CPU's fp32 FMA ceiling on `threads` threads (GFLOP/s; bench/cpu.py), None where it cannot be measured."""
    ceiling = fma_ceiling(threads)
    return ceiling.gflops if ceiling else None


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def count_flops(run) -> int:
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM peak), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def peak_memory_child(seconds: float) -> dict[str, float]:
    """Run in a fresh process: RSS before mix_tracks, its peak during, and the buffers it must hold."""
    model = MixWaveUNet().eval()
    tracks = random_song(seconds)
    before = status_bytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak, to the current RSS
    mixed = mix_tracks(model, tracks, RATE)
    peak = status_bytes("VmHWM")
    length = int(seconds * RATE)
    # Buffers proportional to the song, alive together: the [8, n] arranged input and the [2, n] output.
    buffers = (len(model.slot_names) + model.outputs) * length * 4
    return {"before": before, "peak": peak, "buffers": buffers, "samples": mixed.audio.shape[-1]}


def measure_memory(seconds: float) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-m", "bench.inference", "--memory-child", str(seconds)],
                            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(result.stdout.strip().splitlines()[-1])


SETTINGS = {
    "original scheme (121,843-sample windows, batch 1)": {},
    "mix_tracks, default (1.5 s windows streamed)": {},
    "mix_tracks, 0.75 s windows": {"window_seconds": 0.75},
    "mix_tracks, 3 s windows": {"window_seconds": 3.0},
    "mix_tracks, 2 segments side by side": {"batch_size": 2},
}
ORIGINAL, DEFAULT = list(SETTINGS)[:2]


def measure_default_model(seconds: float, repeats: int) -> dict[str, dict[str, float]]:
    """The embedded default model (`MixWaveUNet.from_pretrained()`): seconds, real-time factor, GFLOP and
    GFLOP/s of its original scheme and of mix_tracks (which also levels the tracks: not counted in FLOPs),
    with mix_tracks' speed-up over the original scheme; interleaved runs, the best counts."""
    model = MixWaveUNet.from_pretrained().eval()
    tracks = random_song(seconds, seed=1)
    runs = {"original scheme": lambda: original_scheme(model, tracks),
            "mix_tracks, default": lambda: mix_tracks(model, tracks, RATE)}
    flops = {name: count_flops(run) for name, run in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(timed(run))
    best = {name: min(values) for name, values in times.items()}
    return {name: {"seconds": best[name], "rtf": best[name] / seconds, "gflop": flops[name] / 1e9,
                   "gflops": flops[name] / best[name] / 1e9, "speedup": best["original scheme"] / best[name]}
            for name in runs}


def measure(seconds: float = 60.0, long_seconds: float = 600.0, repeats: int = 2) -> dict:
    """Every figure of this benchmark, measured in this run (see the module docstring)."""
    torch.manual_seed(0)
    model = MixWaveUNet().eval()
    tracks = random_song(seconds)
    runs = {name: (lambda: original_scheme(model, tracks)) if name == ORIGINAL
            else (lambda options=options: mix_tracks(model, tracks, RATE, **options))
            for name, options in SETTINGS.items()}
    flops = {name: count_flops(run) for name, run in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():  # interleaved, so drifts in machine load hit all alike
            times[name].append(timed(run))
    best = {name: min(values) for name, values in times.items()}
    mixed = mix_tracks(model, tracks, RATE).audio
    reference = original_scheme(model, tracks)
    memory = {length: measure_memory(length) for length in (seconds, long_seconds)}
    for figures in memory.values():
        figures["working"] = figures["peak"] - figures["before"] - figures["buffers"]
    default_model = measure_default_model(seconds, repeats)
    return {
        "seconds": seconds, "long_seconds": long_seconds, "threads": torch.get_num_threads(),
        "default_model": default_model,
        "settings": {name: {"seconds": best[name], "rtf": best[name] / seconds, "gflop": flops[name] / 1e9,
                            "gflops": flops[name] / best[name] / 1e9, "speedup": best[ORIGINAL] / best[name]}
                     for name in runs},
        "matmul_gflops": torch_matmul_gflops(),
        "ceiling_gflops": ceiling_gflops(torch.get_num_threads()),
        "original_drift": float(np.abs(mixed - np.clip(reference, -1, 1)).max() / max(np.abs(mixed).max(), 1e-12)),
        "memory": memory,
        "memory_ratio": memory[long_seconds]["working"] / max(memory[seconds]["working"], 1),
    }


def report(figures: dict) -> None:
    """Print the benchmark's tables."""
    print(f"torch {torch.__version__}, {figures['threads']} threads; paper model, {figures['seconds']:.0f} s "
          "8-track song")
    ceiling = figures["ceiling_gflops"]
    print(f"{'setting':<52} {'seconds':>8} {'RTF':>7} {'GFLOP':>7} {'GFLOP/s':>8} {'speed-up':>9} {'of ceiling':>10}")
    for name, row in figures["settings"].items():
        print(f"{name:<52} {row['seconds']:8.2f} {row['rtf']:7.4f} {row['gflop']:7.0f} {row['gflops']:8.1f} "
              f"{row['speedup']:8.2f}x {share(row['gflops'], ceiling):>10}")
    print(f"{'2048x2048 fp32 torch matmul':<52} {'':>8} {'':>7} {'':>7} {figures['matmul_gflops']:8.1f} {'':>9} "
          f"{share(figures['matmul_gflops'], ceiling):>10}")
    print("default model (mixwave_hf/pretrained; mix_tracks also levels the tracks, not counted in GFLOP):")
    for name, row in figures["default_model"].items():
        print(f"{'  ' + name:<52} {row['seconds']:8.2f} {row['rtf']:7.4f} {row['gflop']:7.0f} {row['gflops']:8.1f} "
              f"{row['speedup']:8.2f}x {share(row['gflops'], ceiling):>10}")
    measured = "not measured (no C compiler)" if ceiling is None else f"{ceiling:.0f} GFLOP/s"
    print(f"'of ceiling': of this CPU's fp32 FMA ceiling on {figures['threads']} threads, {measured} (bench/cpu.py)")
    print(f"original scheme vs mix_tracks: max difference {figures['original_drift']:.1e} of the peak (its windows "
          "step by 89,093 samples, not a multiple of 2**10, so each sees another decimation phase: seams)")
    print(f"\n{'peak memory (fresh process each)':<36} {'RSS before':>11} {'peak':>9} {'buffers':>9} {'working':>9}")
    for seconds, memory in figures["memory"].items():
        print(f"{f'{seconds:.0f} s song':<36} {memory['before'] / 2**20:9.0f} MB {memory['peak'] / 2**20:6.0f} MB "
              f"{memory['buffers'] / 2**20:6.0f} MB {memory['working'] / 2**20:6.0f} MB")
    print(f"working memory {figures['long_seconds']:.0f} s / {figures['seconds']:.0f} s: "
          f"{figures['memory_ratio']:.2f}x (working = peak - before - buffers; buffers = the [8, n] arranged "
          "input and the [2, n] output)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="song length for the speed runs")
    parser.add_argument("--long-seconds", type=float, default=600.0, help="long song for the memory run")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each setting; the best counts")
    parser.add_argument("--memory-child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(peak_memory_child(args.memory_child)))
        return
    report(measure(args.seconds, args.long_seconds, args.repeats))


if __name__ == "__main__":
    main()
