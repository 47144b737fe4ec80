"""Levelling methods compared: the static balance mixed from tracks levelled each way, scored on a split.

A model with `levelling` sees its tracks at the level `loudness.level_tracks` sets, and a model with
output_init="balance" starts as exactly the static balance (`slots.STATIC_BALANCE`) of those tracks;
so the static mix's score under each method is the starting point training gets from it. Prints, per
split, tom playing (the songs' metadata "toms": normal, barely or never played; the classic stress
split keeps it under metadata["stress"]) and method, the median loudness-matched stereo STFT distance
and SI-SDR against the wet mix, each method's STFT median over close_strokes' in the same songs, and,
for the synthetic corpus, how well the method predicts the engineer's fader: the spread (standard
deviation over songs, dB) of (levelling gain - the synthetic engineer's levelling gain) per slot,
averaged over slots (0 = the same fader up to a constant, which the static balance absorbs; a tom the
engineer muted has no fader and is left out).
STATIC_BALANCE pans from the drummer's perspective; for songs mixed from the audience's (metadata
"perspective", the session corpus) its close-mic pans are mirrored, the overheads kept (overhead_L is
the overhead panned left in either), so the static mix pans as the reference does.
Run: `.venv/bin/python -m bench.levelling DATASET [--splits validation stress]`.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from mixwave_hf.baselines import TRACK_LOUDNESS_LUFS, pan_and_sum
from mixwave_hf.evaluate import dataset_songs
from mixwave_hf.loudness import LEVELLING_METHODS, level_tracks
from mixwave_hf.metrics import loudness_matched_stereo_stft_distance, si_sdr
from mixwave_hf.slots import DEFAULT_SLOTS, STATIC_BALANCE
from mixwave_hf.tracks import arrange_tracks

GROUPS = ("normal", "barely", "never", "all")
BASELINE_METHOD = "close_strokes"


def tom_playing(metadata: dict) -> str:
    """How a song's toms are played ("normal", "barely", "never"), from a synthetic song's metadata."""
    return metadata.get("toms") or (metadata.get("stress") or {}).get("toms") or "normal"


def static_pans(metadata: dict) -> dict[str, float]:
    """STATIC_BALANCE's pans, the close mics mirrored for a song mixed from the audience's perspective."""
    pans = {slot: pan for slot, (_, pan) in STATIC_BALANCE.items()}
    if metadata.get("perspective") != "audience":
        return pans
    return {slot: pan if slot.startswith("overhead") else (-pan or 0.0) for slot, pan in pans.items()}


def compare(dataset: str, split: str) -> dict[str, dict[str, dict[str, float]]]:
    """{tom group (GROUPS): {method: {"stft": median, "si_sdr": median, "stft_ratio": median over
    BASELINE_METHOD's, "fader_spread_db": mean over slots, "songs": n}}} on `split`."""
    gains = {slot: gain for slot, (gain, _) in STATIC_BALANCE.items()}
    scores: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    fader_errors: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for song in dataset_songs(dataset, split):
        arranged, _ = arrange_tracks(song.tracks, DEFAULT_SLOTS)
        engineer = song.metadata.get("engineer", {}).get("level_db", {})
        pans = static_pans(song.metadata)
        for method in LEVELLING_METHODS:
            levelled, gains_db = level_tracks(arranged, song.sample_rate, method, TRACK_LOUDNESS_LUFS, DEFAULT_SLOTS)
            mix = pan_and_sum(levelled, gains, pans, "constant_power")[:, : song.reference.shape[-1]]
            score = (loudness_matched_stereo_stft_distance(mix, song.reference, song.sample_rate),
                     si_sdr(mix, song.reference))
            for group in (tom_playing(song.metadata), "all"):
                scores[group, method].append(score)
                for slot, gain in zip(DEFAULT_SLOTS, gains_db, strict=True):
                    if engineer.get(slot) is not None:  # None: the engineer muted it (a tom never played)
                        fader_errors[group, method, slot].append(gain - engineer[slot])
    return {group: {method: _figures(scores, fader_errors, group, method) for method in LEVELLING_METHODS}
            for group in GROUPS if scores[group, BASELINE_METHOD]}


def _figures(scores: dict, fader_errors: dict, group: str, method: str) -> dict[str, float]:
    values = np.array(scores[group, method])
    baseline = np.array(scores[group, BASELINE_METHOD])
    spreads = [np.std(fader_errors[group, method, slot]) for slot in DEFAULT_SLOTS
               if fader_errors.get((group, method, slot))]
    return {"stft": float(np.nanmedian(values[:, 0])), "si_sdr": float(np.nanmedian(values[:, 1])),
            "stft_ratio": float(np.nanmedian(values[:, 0] / baseline[:, 0])),
            "fader_spread_db": float(np.mean(spreads)) if spreads else float("nan"), "songs": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="dataset folder or Hub repo id (e.g. a synthetic corpus)")
    parser.add_argument("--splits", nargs="+", default=["validation", "stress"])
    args = parser.parse_args()
    print(f"{'split':<11} {'toms':<7} {'levelling':<14} {'songs':>5} {'STFT (lm) median':>17} "
          f"{'/ close_strokes':>15} {'SI-SDR median':>14} {'fader spread':>13}")
    for split in args.splits:
        for group, methods in compare(args.dataset, split).items():
            for method, figures in methods.items():
                print(f"{split:<11} {group:<7} {method:<14} {figures['songs']:>5} {figures['stft']:>17.3f} "
                      f"{figures['stft_ratio']:>15.3f} {figures['si_sdr']:>11.2f} dB "
                      f"{figures['fader_spread_db']:>10.2f} dB")


if __name__ == "__main__":
    main()
