"""How a corpus recipe sounds, measured on rendered songs: the statistics real sessions are compared on.

Per recipe (the same seeds and styles, each recipe's training kits and conditions): the close mics'
bleed share (the fraction of a close mic's energy that is not its own drum, from a render with only
that drum playing; songs where the drum is played), the overhead pair's magnitude-squared coherence
per band (Welch, 2048-sample segments), the room's reverberation time (the room model's RT60, or the
first recorder's tail RT60), tom playing, and the engineer's crest-factor change (wet mix against the
dry balance, dB; mono sums). Medians over songs, with the 10th-90th percentiles where they matter.
Run: `.venv/bin/python -m bench.corpus [--songs 12] [--seconds 20]`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import signal

from mixwave_hf.data.synth import RECIPES, render_song
from mixwave_hf.data.synth.conditions import draw_tom_playing
from mixwave_hf.data.synth.dry import render_dry_pieces
from mixwave_hf.data.synth.grooves import draw_groove
from mixwave_hf.data.synth.players import kit_player
from mixwave_hf.data.synth.recording import CLOSE_MIC_SLOTS, draw_recording_params, record_tracks
from mixwave_hf.data.synth.room import draw_room_recording, record_in_room
from mixwave_hf.loudness import crest_factor_db

BANDS_HZ = ((0, 500), (500, 2000), (2000, 8000), (8000, 20000))
SAMPLE_RATE = 44100


def recorder(recipe, seed: int):
    """(record(stems) -> tracks, RT60 seconds) of one song's recording under `recipe`'s training conditions."""
    rng = np.random.default_rng(seed)
    conditions = recipe.split_conditions["train"]
    if recipe.in_room:
        params = draw_room_recording(rng, conditions, recipe.perspective)
        return (lambda stems: record_in_room(stems, params, SAMPLE_RATE)[0]), params.rt60_s
    params = draw_recording_params(rng, conditions)
    return (lambda stems: record_tracks(stems, params, SAMPLE_RATE)[0]), params.room_tail_rt60_s


def coherence_by_band(left: np.ndarray, right: np.ndarray) -> list[float]:
    """Mean magnitude-squared coherence of two tracks in each band of BANDS_HZ."""
    frequencies, coherence = signal.coherence(left, right, SAMPLE_RATE, nperseg=2048)
    return [float(np.mean(coherence[(frequencies >= low) & (frequencies < high)])) for low, high in BANDS_HZ]


def recording_statistics(recipe, songs: int, seconds: float) -> dict:
    """Bleed shares per close mic, overhead coherence per band and RT60s of `songs` recordings."""
    kits = recipe.split_kits["train"]
    bleed: dict[str, list[float]] = {slot: [] for slot in CLOSE_MIC_SLOTS}
    coherence, rt60s = [], []
    for index in range(songs):
        _, events = draw_groove(np.random.default_rng(index), seconds)
        stems = render_dry_pieces(kit_player(kits[index % len(kits)], SAMPLE_RATE), events,
                                  int(seconds * SAMPLE_RATE))
        record, rt60 = recorder(recipe, 1000 + index)
        tracks = record(stems)
        rt60s.append(rt60)
        coherence.append(coherence_by_band(tracks["overhead_L"], tracks["overhead_R"]))
        for slot in CLOSE_MIC_SLOTS:
            if not np.any(stems[slot]):
                continue
            alone = record({piece: stem if piece == slot else np.zeros_like(stem) for piece, stem in stems.items()})
            full = float(np.sum(tracks[slot].astype(np.float64) ** 2))
            bleed[slot].append(1.0 - float(np.sum(alone[slot].astype(np.float64) ** 2)) / full)
    return {"bleed": {slot: float(np.median(shares)) for slot, shares in bleed.items() if shares},
            "bleed_all": float(np.median([share for shares in bleed.values() for share in shares])),
            "coherence": np.median(np.array(coherence), axis=0).tolist(),
            "rt60": np.percentile(rt60s, [10, 50, 90]).tolist()}


def mix_statistics(recipe, songs: int, seconds: float) -> dict:
    """The engineer's crest-factor change and the tom playing of `songs` songs rendered by `recipe`."""
    kits = recipe.split_kits["train"]
    changes, toms = [], []
    for index in range(songs):
        song = render_song(2000 + index, kits[index % len(kits)], seconds, recipe=recipe, include_events=False)
        changes.append(crest_factor_db(song.wet_mix) - crest_factor_db(song.dry_mix))
        toms.append(song.metadata.get("toms", "normal"))
    return {"crest_change": np.percentile(changes, [10, 50, 90]).tolist(),
            "toms": {name: toms.count(name) / len(toms) for name in sorted(set(toms))}}


def tom_playing_shares(recipe) -> dict[str, float]:
    """The shares of tom playing the recipe's training conditions draw from (10,000 draws)."""
    rng = np.random.default_rng(0)
    draws = [draw_tom_playing(rng, recipe.split_conditions["train"])[0] for _ in range(10_000)]
    return {name: draws.count(name) / len(draws) for name in sorted(set(draws))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    rows = {}
    for name, recipe in RECIPES.items():
        started = time.perf_counter()
        rows[name] = {**recording_statistics(recipe, args.songs, args.seconds),
                      **mix_statistics(recipe, args.songs, args.seconds), "tom_shares": tom_playing_shares(recipe)}
        print(f"{name}: {time.perf_counter() - started:.0f} s")
    print(f"\n{args.songs} songs of {args.seconds:g} s per recipe (training kits and conditions); medians")
    print("| | " + " | ".join(rows) + " |\n|---|" + "---:|" * len(rows))
    for slot in ("kick", "snare", "hihat", "tom_1"):
        print(f"| bleed share, {slot} mic | " + " | ".join(f"{row['bleed'].get(slot, float('nan')):.2f}"
                                                       for row in rows.values()) + " |")
    print("| bleed share, all close mics | " + " | ".join(f"{row['bleed_all']:.2f}" for row in rows.values()) + " |")
    for band, (low, high) in enumerate(BANDS_HZ):
        print(f"| overhead coherence {low}-{high} Hz | " + " | ".join(f"{row['coherence'][band]:.2f}"
                                                                    for row in rows.values()) + " |")
    print("| RT60 s (10th / median / 90th) | " + " | ".join("{:.2f} / {:.2f} / {:.2f}".format(*row["rt60"])
                                                         for row in rows.values()) + " |")
    print("| crest factor, wet - dry dB (10th / median / 90th) | " + " | ".join(
        "{:+.1f} / {:+.1f} / {:+.1f}".format(*row["crest_change"]) for row in rows.values()) + " |")
    print("| toms (training draws): normal / barely / never | " + " | ".join(
        " / ".join(f"{row['tom_shares'].get(name, 0.0):.2f}" for name in ("normal", "barely", "never"))
        for row in rows.values()) + " |")


if __name__ == "__main__":
    main()
