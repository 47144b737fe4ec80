"""Corpus recipes: the kits each split plays, the conditions it is recorded under, the engineer and the
perspective of the mix.

`SESSION_RECIPE` (the default: room model, unplayed toms, brushes, the light engineer, the audience's
perspective) and `CLASSIC_RECIPE` (the first corpus, still rendered bit for bit); why: docs/synthetic-corpus.md.

    plans = plan_corpus(hours=1.0, seed=0, recipe="classic")  # corpus.py
"""

from __future__ import annotations

from dataclasses import dataclass

from mixwave_hf.data.synth.conditions import (
    SESSION_CONDITIONS,
    SESSION_STRESS_CONDITIONS,
    STRESS_CONDITIONS,
    TRAINING_CONDITIONS,
    Conditions,
    RoomConditions,
)
from mixwave_hf.slots import check_perspective

#: In plan order; a split's songs come from stream (seed, its index here), so splits are only ever appended.
CORPUS_SPLITS = ("train", "validation", "test", "stress")


@dataclass(frozen=True)
class CorpusRecipe:
    """How a corpus is rendered. `Conditions` record with the first recording model (spaced pair, set
    delays), `RoomConditions` in a room (room.py); `draws_playing`: songs draw a `grooves.Playing`
    (brushes, rods, songs without crashes, ride-only songs); `engineer`: a name of engineer.ENGINEERS."""

    name: str
    split_kits: dict[str, tuple[str, ...]]
    split_conditions: dict[str, Conditions | RoomConditions]
    engineer: str
    perspective: str
    draws_playing: bool
    synth_version: int

    def __post_init__(self) -> None:
        check_perspective(self.perspective)
        if set(self.split_kits) != set(CORPUS_SPLITS) or set(self.split_conditions) != set(CORPUS_SPLITS):
            raise ValueError(f"recipe {self.name!r}: kits and conditions for every split of {list(CORPUS_SPLITS)}")

    @property
    def in_room(self) -> bool:
        """Whether songs are recorded with the room model."""
        return isinstance(self.split_conditions["train"], RoomConditions)


_CLASSIC_TRAIN_KITS = ("avl_black_pearl", "fluid_standard", "fluid_room", "fluid_power", "fluid_jazz", "fluid_brush")
CLASSIC_RECIPE = CorpusRecipe(
    name="classic",
    split_kits={"train": _CLASSIC_TRAIN_KITS, "validation": _CLASSIC_TRAIN_KITS, "test": ("avl_red_zeppelin",),
                "stress": ("avl_red_zeppelin",)},
    split_conditions={"train": TRAINING_CONDITIONS, "validation": TRAINING_CONDITIONS, "test": TRAINING_CONDITIONS,
                      "stress": STRESS_CONDITIONS},
    engineer="classic", perspective="drummer", draws_playing=False, synth_version=1,
)
#: Training kits whose licences let the weights trained on them be shared under CC-BY-SA-3.0 (CC-BY-SA,
#: MIT; one electronic kit); the GPL-2.0 Hydrogen drumkits are held out with the classic test kit: the
#: test and stress splits play five kits of four makers the training split never heard.
_SESSION_TRAIN_KITS = ("avl_black_pearl", "h2_bja_pacific", "fluid_standard", "fluid_room", "fluid_power",
                       "fluid_jazz", "fluid_brush", "musescore_standard", "musescore_room", "musescore_power",
                       "musescore_jazz", "musescore_brush", "musescore_electronic")
_SESSION_HELD_OUT_KITS = ("avl_red_zeppelin", "h2_forzee", "h2_colombo", "h2_millo_ml2", "h2_gmrock")
SESSION_RECIPE = CorpusRecipe(
    name="session",
    split_kits={"train": _SESSION_TRAIN_KITS, "validation": _SESSION_TRAIN_KITS, "test": _SESSION_HELD_OUT_KITS,
                "stress": _SESSION_HELD_OUT_KITS},
    split_conditions={"train": SESSION_CONDITIONS, "validation": SESSION_CONDITIONS, "test": SESSION_CONDITIONS,
                      "stress": SESSION_STRESS_CONDITIONS},
    engineer="light", perspective="audience", draws_playing=True, synth_version=2,
)
RECIPES = {recipe.name: recipe for recipe in (SESSION_RECIPE, CLASSIC_RECIPE)}
DEFAULT_RECIPE = SESSION_RECIPE.name


def corpus_recipe(recipe: str | CorpusRecipe) -> CorpusRecipe:
    """The CorpusRecipe of a name (or the recipe itself); ValueError names the known ones."""
    if isinstance(recipe, CorpusRecipe):
        return recipe
    if recipe not in RECIPES:
        raise ValueError(f"unknown corpus recipe {recipe!r}; expected one of {list(RECIPES)}")
    return RECIPES[recipe]
