"""The synthetic drum corpus: ENST-like 8-track drum recordings rendered from sampled acoustic kits.

Stages, one module each, every one seeded and recorded in the song's metadata:

- kits.py: the kit registry (soundfont, preset, licence, the GM note of every piece) and one-shots;
- grooves.py: the performance (style, tempo, fills, ghost notes, crashes, hi-hat chokes, feel) as
  hit events;
- dry.py: each piece's strokes as its own dry stem;
- recording.py: close mics with bleed, a spaced overhead pair, room, noise, random input gains;
- conditions.py: the ranges recordings and tom playing are drawn from: training, and stress (outside them);
- engineer.py: the one fixed engineer making the wet mix (target) and the dry mix;
- song.py: `render_song`, all of the above for one song; corpus.py: `plan_corpus`, the splits
  (train, validation, test, stress);
- example.py: `write_rendered_example`, a few seconds as session-style FLAC files.

    >>> song = render_song(seed=7, kit="avl_black_pearl", seconds=30.0)
    >>> song.tracks["snare"].shape, song.wet_mix.shape
    ((1323000,), (2, 1323000))
"""

from mixwave_hf.data.synth.conditions import STRESS_CONDITIONS, TRAINING_CONDITIONS, Conditions
from mixwave_hf.data.synth.corpus import SPLIT_CONDITIONS, SPLIT_KITS, SPLITS, SongPlan, plan_corpus
from mixwave_hf.data.synth.example import write_rendered_example
from mixwave_hf.data.synth.grooves import STYLES, HitEvent
from mixwave_hf.data.synth.kits import KITS, PIECES, KitNotInstalledError, KitSpec, kit_installed
from mixwave_hf.data.synth.song import SYNTH_VERSION, RenderedSong, render_song

__all__ = [
    "KITS", "PIECES", "SPLITS", "SPLIT_CONDITIONS", "SPLIT_KITS", "STRESS_CONDITIONS", "STYLES", "SYNTH_VERSION",
    "TRAINING_CONDITIONS", "Conditions", "HitEvent", "KitNotInstalledError", "KitSpec", "RenderedSong", "SongPlan",
    "kit_installed", "plan_corpus", "render_song", "write_rendered_example",
]
