"""Corpus plans: which songs to render (id, seed, kit, length) and which split each belongs to.

Splits hold out whole kits: the test and stress splits play kits the training split never sees
(the reasoning: docs/synthetic-corpus.md). A recipe (recipes.py) says which kits and conditions.

    plans = plan_corpus(hours=1.0, seed=0)  # [SongPlan(song_id, seed, kit, seconds, split, conditions, recipe), ...]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixwave_hf.data.synth.conditions import TRAINING_CONDITIONS, Conditions, RoomConditions
from mixwave_hf.data.synth.kits import KITS
from mixwave_hf.data.synth.recipes import CORPUS_SPLITS, DEFAULT_RECIPE, CorpusRecipe, corpus_recipe

#: Shares of the asked hours; stress comes on top (a corpus of H hours holds about 1.1 H).
SPLIT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1, "stress": 0.1}
#: Song lengths are drawn in this range (seconds); the last song of a split takes what is left.
SONG_SECONDS = (20.0, 60.0)
#: No song is shorter, so a tiny corpus comes out a little longer than asked.
MIN_SONG_SECONDS = 10.0


@dataclass(frozen=True)
class SongPlan:
    """One song to render: render_song(seed, kit, seconds, conditions=conditions, recipe=recipe) gives its audio."""

    song_id: str
    seed: int
    kit: str
    seconds: float
    split: str
    conditions: Conditions | RoomConditions = TRAINING_CONDITIONS
    recipe: str = "classic"


def plan_corpus(hours: float, seed: int, recipe: str | CorpusRecipe = DEFAULT_RECIPE) -> list[SongPlan]:
    """Songs adding up to about `hours` of audio (80% train, 10% validation, 10% test), and 10% more
    in the stress split, from `seed`, with the kits and conditions of `recipe` (a name of recipes.RECIPES).

    Each split draws its songs from its own stream of `seed`, so a larger corpus with the same seed
    extends a smaller one (only each split's last song changes length). Kits take turns within a
    split in a seeded order, so every training kit gets a fair share.
    """
    if not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours > 0):
        raise ValueError(f"hours {hours!r}; expected a positive number of hours")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r}; expected a non-negative integer")
    recipe = corpus_recipe(recipe)
    unknown = {kit for kits in recipe.split_kits.values() for kit in kits} - set(KITS)
    if unknown:
        raise ValueError(f"recipe {recipe.name!r} names unknown kits {sorted(unknown)}; expected names of "
                         f"{sorted(KITS)}")
    plans: list[SongPlan] = []
    used_seeds: set[int] = set()
    for split_index, split in enumerate(CORPUS_SPLITS):
        rng = np.random.default_rng([int(seed), split_index])
        kits = recipe.split_kits[split]
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
                                  recipe.split_conditions[split], recipe.name))
            remaining -= seconds
            index += 1
    return plans
