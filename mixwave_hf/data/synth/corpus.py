"""Corpus plans: which songs to render (id, seed, kit, length) and which split each belongs to.

Splits hold out whole kits: the test and stress splits play a kit the training split never sees
(the reasoning: docs/synthetic-corpus.md).

    plans = plan_corpus(hours=1.0, seed=0)  # [SongPlan(song_id, seed, kit, seconds, split, conditions), ...]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixwave_hf.data.synth.conditions import STRESS_CONDITIONS, TRAINING_CONDITIONS, Conditions
from mixwave_hf.data.synth.kits import KITS

#: In plan order; a split's songs come from stream (seed, its index here), so splits are only ever appended.
SPLITS = ("train", "validation", "test", "stress")
SPLIT_KITS: dict[str, tuple[str, ...]] = {
    "train": ("avl_black_pearl", "fluid_standard", "fluid_room", "fluid_power", "fluid_jazz", "fluid_brush"),
    "validation": ("avl_black_pearl", "fluid_standard", "fluid_room", "fluid_power", "fluid_jazz", "fluid_brush"),
    "test": ("avl_red_zeppelin",),
    "stress": ("avl_red_zeppelin",),
}
#: Shares of the asked hours; stress comes on top (a corpus of H hours holds about 1.1 H).
SPLIT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1, "stress": 0.1}
SPLIT_CONDITIONS: dict[str, Conditions] = {"train": TRAINING_CONDITIONS, "validation": TRAINING_CONDITIONS,
                                           "test": TRAINING_CONDITIONS, "stress": STRESS_CONDITIONS}
#: Song lengths are drawn in this range (seconds); the last song of a split takes what is left.
SONG_SECONDS = (20.0, 60.0)
#: No song is shorter, so a tiny corpus comes out a little longer than asked.
MIN_SONG_SECONDS = 10.0


@dataclass(frozen=True)
class SongPlan:
    """One song to render: render_song(seed, kit, seconds, conditions=conditions) gives its audio."""

    song_id: str
    seed: int
    kit: str
    seconds: float
    split: str
    conditions: Conditions = TRAINING_CONDITIONS


def plan_corpus(hours: float, seed: int) -> list[SongPlan]:
    """Songs adding up to about `hours` of audio (80% train, 10% validation, 10% test), and 10% more
    in the stress split, from `seed`.

    Each split draws its songs from its own stream of `seed`, so a larger corpus with the same seed
    extends a smaller one (only each split's last song changes length). Kits take turns within a
    split in a seeded order, so every training kit gets a fair share.
    """
    if not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours > 0):
        raise ValueError(f"hours {hours!r}; expected a positive number of hours")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r}; expected a non-negative integer")
    unknown = {kit for kits in SPLIT_KITS.values() for kit in kits} - set(KITS)
    if unknown:
        raise ValueError(f"SPLIT_KITS names unknown kits {sorted(unknown)}; expected names of {sorted(KITS)}")
    plans: list[SongPlan] = []
    used_seeds: set[int] = set()
    for split_index, split in enumerate(SPLITS):
        rng = np.random.default_rng([int(seed), split_index])
        kits = SPLIT_KITS[split]
        kit_order = [kits[i] for i in rng.permutation(len(kits))]
        remaining = hours * 3600 * SPLIT_SHARES[split]
        index = 0
        while remaining > 0.5 or index == 0:  # not > 0: rounding leaves crumbs
            # Both draws happen for every song, so corpora of any size share their streams.
            drawn_seconds = float(rng.uniform(*SONG_SECONDS))
            song_seed = int(rng.integers(2**62))
            if remaining <= SONG_SECONDS[1]:
                seconds = max(remaining, MIN_SONG_SECONDS)
            else:  # leave room for a last song of full length
                seconds = min(drawn_seconds, remaining - SONG_SECONDS[0])
            seconds = round(seconds, 2)
            while song_seed in used_seeds:
                song_seed = int(rng.integers(2**62))
            used_seeds.add(song_seed)
            plans.append(SongPlan(f"{split}-{index:05d}", song_seed, kit_order[index % len(kit_order)], seconds, split,
                                  SPLIT_CONDITIONS[split]))
            remaining -= seconds
            index += 1
    return plans
