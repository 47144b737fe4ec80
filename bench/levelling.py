"""Levelling methods compared: the static balance mixed from tracks levelled each way, scored on a split.

A model with `levelling` sees its tracks at the level `audio.level_tracks` sets, and a model with
output_init="balance" starts as exactly the static balance (`slots.STATIC_BALANCE`) of those tracks;
so the static mix's score under each method is the starting point training gets from it. Prints, per
split and method, the median loudness-matched stereo STFT distance and SI-SDR against the wet mix,
and, for the synthetic corpus, how well the method predicts the engineer's fader: the spread (standard
deviation over songs, dB) of (levelling gain - the synthetic engineer's levelling gain) per slot, averaged
over slots (0 = the same fader up to a constant, which the static balance absorbs).
Run: `.venv/bin/python -m bench.levelling DATASET [--splits validation stress]`.
"""

from __future__ import annotations

import argparse

import numpy as np

from mixwave_hf.audio import LEVELLING_METHODS, level_tracks
from mixwave_hf.baselines import TRACK_LOUDNESS_LUFS, pan_and_sum
from mixwave_hf.evaluate import dataset_songs
from mixwave_hf.metrics import loudness_matched_stereo_stft_distance, si_sdr
from mixwave_hf.slots import DEFAULT_SLOTS, STATIC_BALANCE
from mixwave_hf.tracks import arrange_tracks


def compare(dataset: str, split: str) -> dict[str, dict[str, float]]:
    """{method: {"stft": median, "si_sdr": median, "fader_spread_db": mean over slots, "songs": n}} on `split`."""
    gains = {slot: gain for slot, (gain, _) in STATIC_BALANCE.items()}
    pans = {slot: pan for slot, (_, pan) in STATIC_BALANCE.items()}
    scores: dict[str, list[tuple[float, float]]] = {method: [] for method in LEVELLING_METHODS}
    fader_errors = {method: {slot: [] for slot in DEFAULT_SLOTS} for method in LEVELLING_METHODS}
    for song in dataset_songs(dataset, split):
        arranged, _ = arrange_tracks(song.tracks, DEFAULT_SLOTS)
        engineer = song.metadata.get("engineer", {}).get("level_db", {})
        for method in LEVELLING_METHODS:
            levelled, gains_db = level_tracks(arranged, song.sample_rate, method, TRACK_LOUDNESS_LUFS, DEFAULT_SLOTS)
            mix = pan_and_sum(levelled, gains, pans, "constant_power")[:, : song.reference.shape[-1]]
            scores[method].append((loudness_matched_stereo_stft_distance(mix, song.reference, song.sample_rate),
                                   si_sdr(mix, song.reference)))
            for slot, gain in zip(DEFAULT_SLOTS, gains_db, strict=True):
                if engineer.get(slot) is not None:  # None: the engineer muted it (a tom never played)
                    fader_errors[method][slot].append(gain - engineer[slot])
    return {method: {"stft": float(np.nanmedian([s for s, _ in values])),
                     "si_sdr": float(np.nanmedian([d for _, d in values])),
                     "fader_spread_db": float(np.mean([np.std(errors) for errors in fader_errors[method].values()
                                                       if errors] or [np.nan])),
                     "songs": len(values)}
            for method, values in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="dataset folder or Hub repo id (e.g. a synthetic corpus)")
    parser.add_argument("--splits", nargs="+", default=["validation", "stress"])
    args = parser.parse_args()
    print(f"{'split':<11} {'levelling':<14} {'songs':>5} {'STFT (lm) median':>17} {'SI-SDR median':>14} "
          f"{'fader spread':>13}")
    for split in args.splits:
        for method, figures in compare(args.dataset, split).items():
            print(f"{split:<11} {method:<14} {figures['songs']:>5} {figures['stft']:>17.3f} "
                  f"{figures['si_sdr']:>11.2f} dB {figures['fader_spread_db']:>10.2f} dB")


if __name__ == "__main__":
    main()
