"""The peak limiter's effect: a model's mixes of a split with and without it (`mix_tracks(peak_ceiling_db=...)`).

Prints how many songs' mixes peak above the ceiling, their peaks, the samples the limiter touches, and
the median headline distance and SI-SDR against the reference with the limiter and with plain
clipping at full scale instead.
Run: `.venv/bin/python -m bench.limiter DATASET [--split stress] [--model DIR_OR_REPO]`.
"""

from __future__ import annotations

import argparse

import numpy as np

from mixwave_hf.audio import padded_slice
from mixwave_hf.evaluate import dataset_songs
from mixwave_hf.metrics import loudness_matched_stereo_stft_distance, si_sdr
from mixwave_hf.mixing import DEFAULT_PEAK_CEILING_DB, mix_tracks
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.slots import match_slot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--split", default="stress")
    parser.add_argument("--model", default=None, help="model folder or Hub id (default: the embedded model)")
    args = parser.parse_args()
    model = MixWaveUNet.from_pretrained(args.model)
    rows = []
    for song in dataset_songs(args.dataset, args.split):
        tracks = {name: audio for name, audio in song.tracks.items() if match_slot(name, model.slot_names)}
        length = song.reference.shape[-1]
        limited = mix_tracks(model, tracks, song.sample_rate)
        clipped = mix_tracks(model, tracks, song.sample_rate, peak_ceiling_db=None)
        scores = [(loudness_matched_stereo_stft_distance(padded_slice(mix.audio, 0, length), song.reference,
                                                         song.sample_rate),
                   si_sdr(padded_slice(mix.audio, 0, length), song.reference)) for mix in (limited, clipped)]
        rows.append((limited.peak, limited.limited_samples / limited.audio.size, clipped.clipped_samples, *scores))
    peaks = np.array([row[0] for row in rows])
    over = peaks > 10 ** (DEFAULT_PEAK_CEILING_DB / 20)
    print(f"{args.split}: {len(rows)} songs; {int(over.sum())} peak above {DEFAULT_PEAK_CEILING_DB:g} dBFS "
          f"(highest {20 * np.log10(peaks.max()):+.1f} dBFS), {int(sum(row[2] > 0 for row in rows))} beyond full scale")
    if over.any():
        print(f"  limited samples where it acts: median {np.median([row[1] for row in rows if row[1] > 0]):.4%}")
    for label, index in (("peak limiter at -1 dBFS", 3), ("clipping at full scale", 4)):
        stft = np.median([row[index][0] for row in rows])
        sdr = np.median([row[index][1] for row in rows])
        print(f"  {label:<24} median stereo_stft_loudness_matched {stft:.4f}, SI-SDR {sdr:.2f} dB")


if __name__ == "__main__":
    main()
