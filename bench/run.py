"""`make bench`: the CPU, inference, data, training and memory benchmarks in one run, and one table of their figures.

Each section prints its own detailed table first (bench/cpu.py, bench/inference.py, bench/data.py,
bench/training.py, bench/step_profile.py, bench/memory.py); the summary puts the figures that matter side by
side, with ratios measured in this run: GFLOP/s as fractions of this CPU's fp32 FMA ceiling at the same
thread count, the best matmul beside it. A GPU section runs when CUDA is available and says it was skipped otherwise.
Run: `make bench` or `.venv/bin/python -m bench.run [--quick]`.
"""

from __future__ import annotations

import argparse

import torch

from bench import cpu, data, inference, memory, step_profile
from bench import training as training_bench
from bench.training import measure_training
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


def reference(machine: dict, threads: int) -> dict:
    """`machine`'s (bench.cpu.measure) figures for `threads` threads, measured now if it has none for them."""
    if threads not in machine["threads"]:
        ceiling = cpu.fma_ceiling(threads)
        matmul = cpu.torch_matmul_gflops(threads)
        machine["threads"][threads] = {"ceiling": ceiling, "ceiling_gflops": ceiling and ceiling.gflops,
                                       "matmul_gflops": {"torch": matmul}, "best_matmul": matmul}
    return {"threads": threads, **machine["threads"][threads]}


def of_ceiling(gflops: float, reference: dict) -> str:
    """`gflops` as a fraction of the FMA ceiling and of the best matmul in `reference` (`reference`'s row)."""
    return (f"{cpu.share(gflops, reference['ceiling_gflops'])} of the FMA ceiling "
            f"({gflops / reference['best_matmul']:.2f} of the best matmul) on {reference['threads']} thread(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter songs and fewer repeats (rougher figures)")
    args = parser.parse_args()
    seconds, long_seconds, repeats = (20.0, 120.0, 1) if args.quick else (60.0, 600.0, 2)

    print("== CPU ==")
    machine = cpu.measure((1, 2))
    cpu.report(machine)
    print("\n== inference ==")
    speed = inference.measure(seconds, long_seconds, repeats)
    inference.report(speed)
    print("\n== data ==")
    loading = data.measure(songs=4 if args.quick else 8)
    data.report(loading)
    print("\n== training (CPU) ==")
    training = training_bench.measure_cpu_training(steps=3 if args.quick else 6, paper_steps=1 if args.quick else 2)
    training_bench.report(training)
    long_kernel = [training_bench.measure_long_kernel_backward(threads, 3 if args.quick else 6)
                   for threads in training_bench.thread_counts()]
    training_bench.report_long_kernel_backward(long_kernel)
    training_bench.report_cpu_bf16(training_bench.measure_cpu_bf16(2 if args.quick else 4))
    print("\n== where a one-thread training step goes ==")
    profile = step_profile.measure(threads=1, repeats=3 if args.quick else 5)
    step_profile.report(profile)
    print("\n== memory of `mixwave mix` ==")
    mixes = memory.measure(memory.QUICK_SESSIONS if args.quick else memory.FULL_SESSIONS)
    memory.report(mixes)
    gpu = gpu_figures()

    paper_mix, default_mix = speed["settings"][inference.DEFAULT], speed["default_model"]["mix_tracks, default"]
    paper = loading["model"]  # bench.data's bare step of the paper model
    mix_threads = reference(machine, speed["threads"])
    rendered = loading["rendered"]
    bundle_per_core = loading["bundled"]["crops"] / loading["bundled"]["cpu"]
    render_speed = "skipped" if rendered is None else f"{rendered['audio_seconds'] / rendered['wall']:.1f}"
    one_thread, two_threads = training["default, 1 thread"], training["default, 2 threads"]
    with_worker, paper_training = training["default, 1 thread + 1 loader process"], training["paper"]
    info = machine["info"]
    rows = [("CPU", info.model, f"{', '.join(info.instruction_sets) or 'no AVX'}; {info.logical_cpus} logical CPUs")]
    for threads, row in machine["threads"].items():
        rows.append((f"fp32 FMA ceiling, {threads} thread(s): GFLOP/s",
                     "skipped" if row["ceiling_gflops"] is None else f"{row['ceiling_gflops']:.0f}",
                     f"best 2048^2 matmul {row['best_matmul']:.0f} GFLOP/s = "
                     f"{cpu.share(row['best_matmul'], row['ceiling_gflops'])} of it"))
    rows += [
        (f"mix a {seconds:.0f} s song, paper model (real-time factor)", f"{paper_mix['rtf']:.4f}",
         f"{paper_mix['speedup']:.2f}x faster than the original scheme (target 1.5x)"),
        ("  achieved GFLOP/s", f"{paper_mix['gflops']:.0f}", of_ceiling(paper_mix["gflops"], mix_threads)),
        (f"mix a {seconds:.0f} s song, default model (real-time factor)", f"{default_mix['rtf']:.4f}",
         f"{default_mix['speedup']:.2f}x faster than its original scheme (levelling included)"),
        ("  achieved GFLOP/s", f"{default_mix['gflops']:.0f}", of_ceiling(default_mix["gflops"], mix_threads)),
        (f"  working memory, {long_seconds:.0f} s vs {seconds:.0f} s song (paper model)",
         f"{speed['memory'][long_seconds]['working'] / 2**20:.0f} MB",
         f"{speed['memory_ratio']:.2f}x (target <= 1.25x)"),
        ("streaming loader, crops/s per core", f"{loading['per_core']:.1f}",
         f"{loading['per_core'] / paper['crops_per_second']:.0f}x what CPU training consumes (target >= 20)"),
        ("bundle loader, crops/s per core", f"{bundle_per_core:.0f}",
         f"{bundle_per_core / loading['per_core']:.0f}x the streaming loader"),
        ("renderer, s of 8-track audio per s (1 core)", render_speed, "real-time multiple"),
    ]
    for name, row in training.items():
        rows.append((f"train {name} (batch {row['batch_size']}): steps/s", f"{row['steps_per_second']:.2f}",
                     f"{row['crops_per_second']:.1f} crops/s, {row['gflops']:.0f} GFLOP/s: "
                     f"{of_ceiling(row['gflops'], reference(machine, row['threads']))}; "
                     f"{row['outside_fraction']:.0%} outside the network (target <= 10%)"))
    for row in long_kernel:
        rows.append((f"  long-kernel backward / oneDNN's, {row['threads']} thread(s)", f"{row['speedup']:.2f}x",
                     f"default configuration's forward + loss + backward, {row['gflops']:.0f} GFLOP/s: "
                     f"{of_ceiling(row['gflops'], reference(machine, row['threads']))}"))
    rest = profile["step_seconds"] - profile["convolution_seconds"]
    rows.append(("  1-thread step: convolutions alone, GFLOP/s", f"{profile['convolution_gflops']:.0f}",
                 f"{of_ceiling(profile['convolution_gflops'], reference(machine, 1))}; "
                 f"{1e3 * profile['convolution_seconds']:.0f} of {1e3 * profile['step_seconds']:.0f} ms; the rest "
                 f"{1e3 * rest:.0f} ms ({rest / profile['step_seconds']:.0%}; bench/step_profile.py)"))
    before = training[training_bench.BEFORE]
    rows += [
        ("  default, 2 threads / before", f"{two_threads['steps_per_second'] / before['steps_per_second']:.2f}x",
         "steps/s (target 1.5x; before: 1 thread, auraloss's STFT loss, as the 5,000-step default model)"),
        ("  default, 2 threads / 1 thread", f"{two_threads['steps_per_second'] / one_thread['steps_per_second']:.2f}x",
         "steps/s"),
        ("  default, loader process / none (1 thread)",
         f"{with_worker['steps_per_second'] / one_thread['steps_per_second']:.2f}x", "steps/s"),
        ("  paper / default model, 2 threads, crops/s",
         f"{paper_training['crops_per_second'] / two_threads['crops_per_second']:.2f}x",
         f"crops of {paper_training['output_samples']:,} vs {two_threads['output_samples']:,} output samples, "
         f"batch {paper_training['batch_size']} vs {two_threads['batch_size']}"),
    ]
    for run in mixes:
        rows.append((f"mixwave mix, {run.layout}, {memory.song_length(run.seconds)}: peak RSS",
                     f"{run.peak_rss / 2**20:.0f} MB", f"{run.seconds_per_song_second:.4f} s per song-second "
                     "(start included)" + (" (target <= 1 GB)" if run.seconds >= 3600 else "")))
    eight = sorted((run for run in mixes if run.layout == "8 tracks"), key=lambda run: run.seconds)
    rows.append((f"  peak RSS, {memory.song_length(eight[-1].seconds)} / {memory.song_length(eight[0].seconds)} "
                 "(8 tracks)", f"{eight[-1].peak_rss / eight[0].peak_rss:.2f}x", "flat if the mix streams"))
    if gpu is None:
        rows.append(("GPU", "skipped", "no CUDA on this machine"))
    else:
        for precision in ("fp32", "bf16"):
            figures = gpu[precision]
            rows.append((f"train paper model, {gpu['device']} {precision} batch 16: steps/s",
                         f"{1 / figures['step_seconds']:.1f}",
                         f"{figures['crops_per_second'] / paper['crops_per_second']:.0f}x CPU crops/s (bare step), "
                         "peak "
                         f"{figures['peak_memory_gb']:.1f} GB"))
        rows.append(("mix a 60 s song, GPU (real-time factor)", f"{gpu['mix_rtf']:.4f}",
                     f"{paper_mix['rtf'] / gpu['mix_rtf']:.0f}x faster than on this CPU"))
    width = max(len(row[0]) for row in rows)
    print(f"\n== summary (torch {torch.__version__}, {torch.get_num_threads()} CPU threads) ==")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:>10}  {ratio}")


if __name__ == "__main__":
    main()
