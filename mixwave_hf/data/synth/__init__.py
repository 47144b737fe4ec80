"""The synthetic drum corpus: ENST-like 8-track drum recordings rendered from sampled acoustic kits.

`render_song` renders one song (groove -> dry pieces -> recorded tracks -> the engineer's mixes);
`plan_corpus` plans the splits of a recipe (`RECIPES`: session, the default, and classic). The stages,
one module each, are described in docs/synthetic-corpus.md.

    >>> song = render_song(seed=7, kit="avl_black_pearl", seconds=30.0)
    >>> song.tracks["snare"].shape, song.wet_mix.shape
    ((1323000,), (2, 1323000))
"""

from mixwave_hf.data.synth.conditions import STRESS_CONDITIONS, TRAINING_CONDITIONS, Conditions
from mixwave_hf.data.synth.corpus import SongPlan, plan_corpus
from mixwave_hf.data.synth.example import write_rendered_example
from mixwave_hf.data.synth.grooves import STYLES, HitEvent
from mixwave_hf.data.synth.kits import KITS, PIECES, KitNotInstalledError, KitSpec, kit_installed
from mixwave_hf.data.synth.recipes import (
    CLASSIC_RECIPE,
    CORPUS_SPLITS,
    DEFAULT_RECIPE,
    RECIPES,
    SESSION_RECIPE,
    CorpusRecipe,
    corpus_recipe,
)
from mixwave_hf.data.synth.song import RenderedSong, render_song

__all__ = [
    "CLASSIC_RECIPE", "CORPUS_SPLITS", "DEFAULT_RECIPE", "KITS", "PIECES", "RECIPES", "SESSION_RECIPE",
    "STRESS_CONDITIONS", "STYLES", "TRAINING_CONDITIONS", "Conditions", "CorpusRecipe", "HitEvent",
    "KitNotInstalledError", "KitSpec", "RenderedSong", "SongPlan", "corpus_recipe", "kit_installed", "plan_corpus",
    "render_song", "write_rendered_example",
]
