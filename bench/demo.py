"""The demo's re-mix time: what the server does when Mix is pressed again on the bundled example.

Times `demo.mix_uploads` (read, mix, plain sum, per-track levels, static balance) plus the plots, with
the embedded default model, at a few intensity and trim settings (the first run warms up, untimed).
Run: `.venv/bin/python -m bench.demo [--repeats 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from mixwave_hf.demo import EMPTY, Limits, mix_uploads, spectrogram_pair, upload_names, upload_note, waveform_points
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.resources import example_stems
from mixwave_hf.slots import accepted_names

SETTINGS = [(1.0, {}), (0.5, {"snare": 3.0}), (0.0, {"overheads": -3.0}), (0.8, {"kick": -2.0, "hihat": 1.5})]


def remix_seconds(repeats: int) -> list[float]:
    """Seconds per re-mix of the bundled example (server side), `repeats` x the SETTINGS."""
    model = MixWaveUNet.from_pretrained(None).eval()
    names = upload_names(example_stems())
    assigned, _ = upload_note(names, model.slot_names, Limits())
    choices = {slot: assigned.get(slot, EMPTY) for slot in accepted_names(model.slot_names)}
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(repeats * len(SETTINGS) + 1):
            intensity, trims = SETTINGS[index % len(SETTINGS)]
            started = time.perf_counter()
            result = mix_uploads(model, names, choices, Limits(), Path(folder), trims=trims, intensity=intensity)
            spectrogram_pair(result.mix, result.plain_sum, result.sample_rate)
            waveform_points(result.mix, result.sample_rate)
            if index:
                seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    seconds = remix_seconds(args.repeats)
    print(f"re-mix of the bundled example (4 s, 8 tracks), default model, {torch.get_num_threads()} threads: "
          f"median {statistics.median(seconds):.2f} s, range {min(seconds):.2f}-{max(seconds):.2f} s "
          f"over {len(seconds)} re-mixes")


if __name__ == "__main__":
    main()
