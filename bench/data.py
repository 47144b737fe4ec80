"""Data loading benchmark: default-size training crops per second per CPU core, beside the model's appetite.

Writes a synthetic dataset with the schema's writer (default 8 songs x 30 s of 8 tracks of noise
bursts, a wet and a dry mix; noise is the worst case for FLAC, so decoding costs at least as much as
with real drums), then measures, all in this one run (machines are noisy: compare the ratio):
- the streaming loader (`StreamingDataset` -> DataLoader, batch 4, num_workers=0, torch on one
  thread): crops per second of wall time and per CPU-second (= per core), shuffle buffers on, a warm
  pass first; and where its time goes (reading rows, decoding them, cutting crops);
- the same from a bundle (`BundleDataset`, int16), which skips the FLAC decoding;
- the model's consumption: training steps per second of the default MixWaveUNet at batch 4,
  forward + backward + L1 loss + Adam on the CPU (all threads), as crops per second;
- the ratio loader / model: how many training processes like this one a single loader core feeds.

Target: at least 20 default-size crops (121,843 x 8 input samples) per second per core.
Run: `.venv/bin/python -m bench.data [--songs 8] [--seconds 30] [--model-steps 3]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.training import measure_training
from mixwave_hf.data.loader import (
    UNSHUFFLED,
    BundleDataset,
    CropConfig,
    CropOptions,
    StreamingDataset,
    export_bundle,
    segment_from_row,
)
from mixwave_hf.data.schema import DatasetWriter, Song, song_rows
from mixwave_hf.model import MixWaveUNet

RATE = 44_100
TARGET_CROPS_PER_CORE_SECOND = 20.0


def synthetic_song(song_id: str, seconds: float, seed: int) -> Song:
    """8 tracks of decaying noise bursts at their own rates; the mixes are panned sums."""
    rng = np.random.default_rng(seed)
    length = int(seconds * RATE)
    tracks = {}
    for number, slot in enumerate(MixWaveUNet().slot_names):
        period = int(RATE * 60 / rng.uniform(70, 180) / (1 + number % 3))
        envelope = np.exp(-(np.arange(length) % period) / (0.04 * RATE)).astype(np.float32)
        tracks[slot] = 0.1 * rng.standard_normal(length, dtype=np.float32) * envelope
    pans = np.linspace(0.2, 0.8, len(tracks), dtype=np.float32)
    stacked = np.stack(list(tracks.values()))
    dry = np.stack([(1 - pans) @ stacked, pans @ stacked]) / 4
    return Song(song_id, tracks, np.tanh(2 * dry) / 2, dry, RATE, source="synthetic noise", license="cc0-1.0",
                seed=seed)


def write_synthetic_dataset(directory: Path, songs: int, seconds: float, shards: int) -> float:
    """Write the train split; returns the seconds it took."""
    start = time.perf_counter()
    writer = DatasetWriter(directory, {"train": shards})
    for number in range(songs):
        for row in song_rows(synthetic_song(f"noise{number:03d}", seconds, seed=number)):
            writer.write("train", row)
    writer.close()
    return time.perf_counter() - start


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def measure_loader(dataset: torch.utils.data.IterableDataset, batch_size: int) -> dict[str, float]:
    """Crops per wall second and per CPU second over one pass (after a warm pass), num_workers=0."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=0)
    dataset.set_epoch(0)
    for _ in loader:  # warm: imports, file handles, page cache
        pass
    dataset.set_epoch(1)
    wall, cpu = clocks()
    crops = sum(batch["tracks"].shape[0] for batch in loader)
    wall_end, cpu_end = clocks()
    return {"crops": crops, "wall": wall_end - wall, "cpu": cpu_end - cpu}


def loader_breakdown(dataset: StreamingDataset) -> dict[str, float]:
    """CPU seconds per segment: reading the row (parquet -> Python), decoding it, cutting its crops."""
    from mixwave_hf.data.loader import cut_crop, random_crops

    read = decode = cut = 0.0
    segments = 0
    rows = dataset.dataset.iter(batch_size=1)
    rng = np.random.default_rng(0)
    while True:
        begin = time.process_time()
        batch = next(rows, None)
        if batch is None:
            break
        row = {key: values[0] for key, values in batch.items()}
        decoded = time.process_time()
        segment = segment_from_row(row, dataset.config, dataset.stats)
        crops_start = time.process_time()
        for start, gains in random_crops(segment, dataset.config, rng):
            cut_crop(segment, start, dataset.config, gains)
        end = time.process_time()
        read, decode, cut = read + decoded - begin, decode + crops_start - decoded, cut + end - crops_start
        segments += 1
    return {"read": read / segments, "decode": decode / segments, "cut": cut / segments}


def measure_renderer(seconds: float, songs: int) -> dict[str, float] | None:
    """Seconds of 8-track audio (plus both mixes) the synthetic renderer makes per wall second on one
    core, over `songs` songs of `seconds` each on the default recipe's first training kit; None without the
    soundfonts."""
    from mixwave_hf.data.synth import KITS, SESSION_RECIPE, kit_installed, render_song

    kit = SESSION_RECIPE.split_kits["train"][0]
    if kit not in KITS or not kit_installed(kit):
        return None
    render_song(0, kit, 2.0)  # loads and caches the kit's samples
    start, cpu_start = time.perf_counter(), time.process_time()
    for seed in range(1, songs + 1):
        render_song(seed, kit, seconds)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"kit": kit, "audio_seconds": seconds * songs, "wall": wall, "cpu": cpu}


def measure(songs: int = 8, seconds: float = 30.0, shards: int = 4, crops_per_segment: int = 8,
            batch_size: int = 4, model_steps: int = 3, render_songs: int = 2) -> dict:
    """Every figure of this benchmark, measured in this run (see the module docstring)."""
    config = CropConfig(crops_per_segment=crops_per_segment)
    assert config == CropConfig.for_model(MixWaveUNet().config, CropOptions(crops_per_segment=crops_per_segment))
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="mixwave-bench-data-") as directory:
        folder = Path(directory) / "synthetic"
        written = write_synthetic_dataset(folder, songs, seconds, shards)
        size = sum(path.stat().st_size for path in folder.rglob("*.parquet"))
        torch.set_num_threads(1)  # the loader's own work is single-threaded; keep torch's collate there too
        try:
            streamed = measure_loader(StreamingDataset(folder, "train", config), batch_size)
            parts = loader_breakdown(StreamingDataset(folder, "train", config, UNSHUFFLED))
            bundle_file = Path(directory) / "train.npz"
            export_bundle(folder, "train", bundle_file, config, progress=False)
            bundled = measure_loader(BundleDataset(bundle_file, config), batch_size)
            rendered = measure_renderer(seconds, render_songs)
        finally:
            torch.set_num_threads(threads)
        model = measure_training(MixWaveUNet(), batch_size, model_steps)
    return {"songs": songs, "seconds": seconds, "shards": shards, "size_mb": size / 2**20, "written": written,
            "config": config, "batch_size": batch_size, "threads": threads, "streamed": streamed,
            "parts": parts, "bundled": bundled, "rendered": rendered, "model": model,
            "per_core": streamed["crops"] / streamed["cpu"]}


def report(figures: dict) -> None:
    """Print the benchmark's tables."""
    config, streamed, bundled, parts = figures["config"], figures["streamed"], figures["bundled"], figures["parts"]
    print(f"synthetic dataset: {figures['songs']} songs x {figures['seconds']:.0f} s, 8 tracks + 2 mixes, "
          f"{figures['shards']} shards, {figures['size_mb']:.0f} MB, written in {figures['written']:.1f} s")
    print(f"crops: {config.input_samples:,} -> {config.output_samples:,} samples, {len(config.slot_names)} slots, "
          f"{config.crops_per_segment} per segment, gain ±{config.gain_db:g} dB; batch {figures['batch_size']}")
    print(f"\n{'loader (num_workers=0, 1 thread)':<40} {'crops':>6} {'wall s':>7} {'CPU s':>7} {'crops/s':>8} "
          f"{'crops/CPU-s':>12}")
    for name, row in (("streaming (parquet + FLAC decode)", streamed), ("bundle (int16 .npz)", bundled)):
        print(f"{name:<40} {row['crops']:6d} {row['wall']:7.2f} {row['cpu']:7.2f} "
              f"{row['crops'] / row['wall']:8.1f} {row['crops'] / row['cpu']:12.1f}")
    total = sum(parts.values())
    print(f"streaming, CPU ms per {figures['seconds']:.0f} s segment: read rows {1e3 * parts['read']:.0f}, decode "
          f"FLAC + arrange slots {1e3 * parts['decode']:.0f}, cut {config.crops_per_segment} crops "
          f"{1e3 * parts['cut']:.0f} (decode {parts['decode'] / total:.0%})")
    model = figures["model"]
    print(f"model (default MixWaveUNet, batch {figures['batch_size']}, fwd+bwd+L1+Adam, {figures['threads']} "
          f"threads): {model['step_seconds']:.2f} s/step = {model['crops_per_second']:.2f} crops/s")
    rendered = figures["rendered"]
    if rendered is None:
        print("renderer: skipped (soundfonts not installed: make data)")
    else:
        print(f"renderer ({rendered['kit']}, one core): {rendered['audio_seconds']:.0f} s of 8-track audio + 2 mixes "
              f"in {rendered['wall']:.1f} s = {rendered['audio_seconds'] / rendered['wall']:.1f} s per wall second "
              f"({rendered['audio_seconds'] / rendered['cpu']:.1f} per CPU-second)")
    per_core = figures["per_core"]
    print(f"\nstreaming loader per core / model on this CPU: {per_core / model['crops_per_second']:.0f}x "
          f"(one loader core feeds that many such training processes)")
    verdict = "meets" if per_core >= TARGET_CROPS_PER_CORE_SECOND else "MISSES"
    print(f"target >= {TARGET_CROPS_PER_CORE_SECOND:.0f} crops/s per core: {per_core:.1f} ({verdict}); "
          f"a GPU step consuming N crops/s needs about N / {per_core:.0f} loader cores (DataLoader workers)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=8, help="synthetic songs (one row per 30 s)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each song")
    parser.add_argument("--shards", type=int, default=4, help="parquet shards of the train split")
    parser.add_argument("--crops-per-segment", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--model-steps", type=int, default=3, help="timed training steps of the model")
    parser.add_argument("--render-songs", type=int, default=2, help="songs of --seconds timed for the renderer")
    args = parser.parse_args()
    report(measure(args.songs, args.seconds, args.shards, args.crops_per_segment, args.batch_size,
                   args.model_steps, args.render_songs))


if __name__ == "__main__":
    main()
