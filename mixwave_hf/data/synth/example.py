"""A rendered example multitrack: a few seconds on a sampled kit, as session-style FLAC files.

    write_rendered_example("mixwave_hf/examples/drums")  # `make example-stems`: the bundled example
"""

from __future__ import annotations

from pathlib import Path

from mixwave_hf.audio import write_audio
from mixwave_hf.data.synth.kits import kit_spec
from mixwave_hf.data.synth.recipes import corpus_recipe
from mixwave_hf.data.synth.song import render_song
from mixwave_hf.resources import EXAMPLE_FILE_NAMES

#: The example song: 4 s of a rock groove holding a fill over all three toms, a crash and an open hi-hat.
EXAMPLE_SEED = 122
EXAMPLE_KIT = "avl_black_pearl"
EXAMPLE_STYLE = "rock"
#: The bundled example was rendered with the first recipe; it stays as it was.
EXAMPLE_RECIPE = "classic"
ATTRIBUTION_FILE = "ATTRIBUTION.txt"


def write_rendered_example(directory: str | Path, seed: int = EXAMPLE_SEED, kit: str = EXAMPLE_KIT,
                           seconds: float = 4.0, style: str | None = EXAMPLE_STYLE) -> list[Path]:
    """Write the recorded tracks of a rendered song as 8 mono 24-bit FLAC files (01_Kick.flac ...
    08_OH_R.flac, as resources.EXAMPLE_FILE_NAMES) and ATTRIBUTION.txt into `directory`; returns the paths.
    """
    directory = Path(directory)
    song = render_song(seed, kit, seconds, style=style, include_events=False, recipe=EXAMPLE_RECIPE)
    paths = []
    for slot, name in EXAMPLE_FILE_NAMES.items():
        write_audio(directory / name, song.tracks[slot][None], song.sample_rate, "pcm24")
        paths.append(directory / name)
    spec = kit_spec(kit)
    attribution = directory / ATTRIBUTION_FILE
    attribution.write_text(
        f"Drum multitrack rendered by mixwave_hf.data.synth (version {corpus_recipe(EXAMPLE_RECIPE).synth_version}): "
        f"render_song(seed={seed}, kit={spec.name!r}, seconds={seconds}, style={song.metadata['style']!r}), "
        f"{song.metadata['bpm']} bpm, {song.sample_rate} Hz.\n\n"
        f"Kit: {spec.name} - {spec.description}\n"
        f"Samples: {spec.samples} (Debian package {spec.debian_package})\n"
        f"Licence of the samples and of this audio: {spec.license}\n\n{spec.attribution}\n",
        encoding="utf-8",
    )
    return [*paths, attribution]
