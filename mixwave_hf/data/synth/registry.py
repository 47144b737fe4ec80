"""The kit registry `KITS`: every sampled kit, its source, licence, maker and the note of every articulation.

Kits that sample two toms play a third as one of them retuned. Notes: docs/synthetic-corpus.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixwave_hf.data.synth.specs import KitSpec, Note


@dataclass(frozen=True)
class SampleSource:
    """Where a family of kits comes from: Debian package, licence, the credit it requires, who made the samples."""

    debian_package: str
    license: str
    attribution: str
    maker: str


AVL = SampleSource("avldrums.lv2-soundfont", "CC-BY-SA-3.0", (
    "AVL Drumkits by Glen MacArthur (AV Linux), soundfont conversion packaged with x42 avldrums.lv2 "
    "(Robin Gareus); Debian package avldrums.lv2-soundfont. Licensed CC-BY-SA 3.0: audio rendered "
    "from these samples is shared under CC-BY-SA 3.0 with this attribution."), "Glen MacArthur")
FLUID = SampleSource("fluid-soundfont-gm", "MIT", (
    "FluidR3_GM soundfont by Frank Wen and contributors; Debian package fluid-soundfont-gm. Licensed MIT."),
    "Frank Wen")


def _notes(kick: int | Note = 36, snare: int | Note = 38, side_stick: int | Note = 37,
           hihat: tuple = (42, 44, 46), toms: tuple = (48, 45, 41), crashes: tuple = (49, 57),
           ride: int | Note = 51, bell: int | Note = 53) -> dict[str, dict[str, Note]]:
    """Note map of a kit, General MIDI keys by default; hihat is (closed, pedal, open), toms (tom_1, tom_2,
    tom_3), crashes (crash_1, crash_2); each a Note or a key."""
    def note(key: int | Note) -> Note:
        return key if isinstance(key, Note) else Note(key)

    closed, pedal, opened = map(note, hihat)
    return {
        "kick": {"hit": note(kick)},
        "snare": {"hit": note(snare), "side_stick": note(side_stick)},
        "hihat": {"closed": closed, "pedal": pedal, "open": opened},
        "tom_1": {"hit": note(toms[0])}, "tom_2": {"hit": note(toms[1])}, "tom_3": {"hit": note(toms[2])},
        "crash_1": {"hit": note(crashes[0])}, "crash_2": {"hit": note(crashes[1])},
        "ride": {"hit": note(ride), "bell": note(bell)},
    }


def _soundfont_kit(name: str, source: SampleSource, soundfont: str, bank: int, preset: int,
                   notes: dict[str, dict[str, Note]], description: str, kind: str = "acoustic") -> KitSpec:
    return KitSpec(name, soundfont, bank, preset, source.debian_package, source.license, source.attribution,
                   notes, description, maker=source.maker, kind=kind)


def _fluid(name: str, preset: int, description: str, notes: dict | None = None) -> KitSpec:
    return _soundfont_kit(name, FLUID, "FluidR3_GM.sf2", 128, preset, notes or _notes(), description)


#: The AVL kits sample a rack and a floor tom; the missing tom is the rack tom retuned by 3 semitones
#: (up for a small rack tom, or down for a larger one).
_SOUNDFONT_KITS = (
    _soundfont_kit("avl_black_pearl", AVL, "Black_Pearl_4_LV2.sf2", 0, 0, _notes(toms=(45, Note(45, -3.0), 41)),
                   "Pearl 4-piece (22in kick, 12in tom, 16in floor tom), Sabian cymbals; 5 velocity layers"),
    _soundfont_kit("avl_red_zeppelin", AVL, "Red_Zeppelin_4_LV2.sf2", 0, 0, _notes(toms=(Note(45, 3.0), 45, 41)),
                   "Ludwig 4-piece (26in kick, 14in tom, 16in floor tom), Zildjian cymbals; 5 velocity layers"),
    _fluid("fluid_standard", 0, "FluidR3 GM Standard kit"),
    _fluid("fluid_room", 8, "FluidR3 GM Room kit (Standard with another kick and hi-hat)"),
    _fluid("fluid_power", 16, "FluidR3 GM Power kit (own kick, snare and toms)"),
    _fluid("fluid_jazz", 32, "FluidR3 GM Jazz kit (own kick and snare)"),
    _fluid("fluid_brush", 40, "FluidR3 GM Brush kit (brushed snare)"),
)


def _by_name(kits: tuple[KitSpec, ...]) -> dict[str, KitSpec]:
    """{name: spec}; ValueError naming a name given twice."""
    registry: dict[str, KitSpec] = {}
    for kit in kits:
        if kit.name in registry:
            raise ValueError(f"kit name {kit.name!r} given twice; expected unique names")
        registry[kit.name] = kit
    return registry


#: Every kit, by name.
KITS: dict[str, KitSpec] = _by_name(_SOUNDFONT_KITS)
