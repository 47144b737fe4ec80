"""The kit registry `KITS`: every sampled kit, its source, licence, maker and the note of every articulation.

Kits that sample two toms play a third as one of them retuned; a missing second crash or ride bell is
another cymbal or one retuned; each entry's description says which. Notes: docs/synthetic-corpus.md.
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
# MuseScore General's drum kits keep FluidR3's recordings (one channel of each stereo sample; its own
# hi-hats): the same maker, so that holding out a maker holds out both.
MUSESCORE = SampleSource("musescore-general-soundfont-lossless", "MIT", (
    "MuseScore_General soundfont by S. Christian Collins, a fork of FluidR3Mono_GM (Michael Cowgill) of "
    "FluidR3_GM by Frank Wen and contributors; Debian package musescore-general-soundfont-lossless. "
    "Licensed MIT."), "Frank Wen")
BJA = SampleSource("hydrogen-drumkits", "CC-BY-SA-3.0-US", (
    "BJA_Pacific Hydrogen drumkit: a Pacific drum set sampled by Bransin James Anderson, kit by Luc "
    "Tanguay; Debian package hydrogen-drumkits. Licensed CC-BY-SA 3.0 United States: audio rendered from "
    "these samples is shared under CC-BY-SA 3.0 with this attribution."), "Bransin James Anderson")
COLOMBO = SampleSource("hydrogen-drumkits", "GPL-2.0-or-later", (
    "ColomboAcousticDrumkit (C) 2006 Marcos Guglielmetti (musix.org.ar); Debian package hydrogen-drumkits. "
    "Licensed GPL-2.0-or-later with an exception: a composition mixing in these samples is not by that "
    "alone covered by the GPL."), "Marcos Guglielmetti")
FORZEE = SampleSource("hydrogen-drumkits", "GPL-2.0", (
    "Forzee Stereo Drumkit by Vladimir Sadovnikov and Alexander Belokurov (forzee.org); Debian package "
    "hydrogen-drumkits. Licensed GPL-2.0."), "Vladimir Sadovnikov, Alexander Belokurov")
GMROCK = SampleSource("hydrogen-data", "GPL-2.0", (
    "GMRockKit Hydrogen drumkit: a Pearl DX kit sampled by Glen MacArthur (AV Linux), GM mapping by "
    "Sebastian Moors; Debian package hydrogen-data (GPL-2.0-or-later there; its samples are those of "
    "The Black Pearl 1.0 in hydrogen-drumkits, GPL-2.0). Licensed GPL-2.0."), "Glen MacArthur")
EMILLO = SampleSource("hydrogen-drumkits", "GPL-2.0", (
    "Millo-Drums and Millo_MultiLayered Hydrogen drumkits (a Ludwig kit) by Emiliano Grilli (Emillo, "
    "emillo.net); Debian package hydrogen-drumkits. Licensed GPL-2.0."), "Emiliano Grilli")
ARTEMIO = SampleSource("hydrogen-data", "GPL-2.0-or-later", (
    "TR808EmulationKit by Artemiy Pavlov (ArtemioLabs), synthesised in the manner of a Roland TR-808; "
    "Debian package hydrogen-data. Licensed GPL-2.0-or-later."), "Artemiy Pavlov")


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


#: GS Brush set notes (verified by rendering: 40 is a 0.26 s swish about 5 dB under the taps, with a slow attack).
BRUSH_NOTES = {"brush_tap": Note(38), "brush_sweep": Note(40)}


def _with_brushes(notes: dict[str, dict[str, Note]]) -> dict[str, dict[str, Note]]:
    return {**notes, "snare": {**notes["snare"], **BRUSH_NOTES}}


def _soundfont_kit(name: str, source: SampleSource, soundfont: str, bank: int, preset: int,
                   notes: dict[str, dict[str, Note]], description: str, kind: str = "acoustic") -> KitSpec:
    return KitSpec(name, soundfont, bank, preset, source.debian_package, source.license, source.attribution,
                   notes, description, maker=source.maker, kind=kind)


def _drumkit(name: str, source: SampleSource, drumkit: str, notes: dict[str, dict[str, Note]],
             description: str, kind: str = "acoustic") -> KitSpec:
    return KitSpec(name, "", 0, 0, source.debian_package, source.license, source.attribution, notes,
                   description, drumkit=drumkit, maker=source.maker, kind=kind)


def _fluid(name: str, preset: int, description: str, notes: dict | None = None) -> KitSpec:
    return _soundfont_kit(name, FLUID, "FluidR3_GM.sf2", 128, preset, notes or _notes(), description)


def _musescore(name: str, preset: int, description: str, notes: dict | None = None,
               kind: str = "acoustic") -> KitSpec:
    return _soundfont_kit(name, MUSESCORE, "MuseScore_General_Full.sf2", 128, preset, notes or _notes(),
                          description, kind)


_MUSESCORE_TWIN = "FluidR3's {} kit (one channel of each stereo sample) with MuseScore's own hi-hats"

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
    _fluid("fluid_brush", 40, "FluidR3 GM Brush kit (brushed snare: its hit is the brush tap, "
           "brush_sweep the swirl)", _with_brushes(_notes())),
    _musescore("musescore_standard", 0, _MUSESCORE_TWIN.format("Standard")),
    _musescore("musescore_room", 8, _MUSESCORE_TWIN.format("Room")),
    _musescore("musescore_power", 16, _MUSESCORE_TWIN.format("Power")),
    _musescore("musescore_jazz", 32, _MUSESCORE_TWIN.format("Jazz")),
    _musescore("musescore_brush", 40, _MUSESCORE_TWIN.format("Brush") + " (hit is the brush tap, "
               "brush_sweep the swirl)", _with_brushes(_notes())),
    _musescore("musescore_electronic", 24, "FluidR3's Electronic kit (electronic kick, snare and toms, "
               "acoustic cymbals and hi-hats: MuseScore's own)", kind="electronic"),
)

#: Hydrogen kits by instrument <id> (names in comments); `Note(id, semitones, (low, high))` bounds the
#: velocity that picks a sample layer.
_HYDROGEN_KITS = (
    _drumkit("h2_bja_pacific", BJA, "BJA_Pacific", _notes(
        kick=0, snare=1, side_stick=Note(12, 0.0, (1, 15)),  # side stick: none sampled; the dry snare's softest
        hihat=(2, Note(2, 0.0, (1, 31)), 3), toms=(Note(4, 3.0), 4, 5), crashes=(6, 7), ride=9, bell=8),
        "Pacific 4-piece, 8 velocity layers; tom_1 is the rack tom 3 semitones up; no side stick or hi-hat "
        "pedal sampled: side_stick is the 'Snare Dry' softest layer, pedal the closed hi-hat's two softest"),
    _drumkit("h2_colombo", COLOMBO, "ColomboAcousticDrumkit", _notes(
        kick=0, snare=12, side_stick=10,  # 'Snare Rock': normal shots, rimshots above velocity 94
        hihat=(Note(5, 0.0, (1, 120)), Note(5, 0.0, (1, 72)), 6), toms=(4, 3, 2),
        crashes=(8, Note(9, 0.0, (87, 127))), ride=7, bell=17),
        "Wooden 21in kick, 12/13/16in toms, 14in piccolo snare, Paiste 1000 Rude hi-hat, 20in Paiste 1000 "
        "Power Crash (crash_1, also ridden: ride and bell), 16in Sabian B8 Pro thin crash (crash_2, its crash "
        "layer only); the hi-hat pedal is the closed hi-hat's softest layer (the kit's 'Pedal HH' is semi-open)"),
    _drumkit("h2_forzee", FORZEE, "ForzeeStereo", _notes(
        kick=0, snare=4, side_stick=8, hihat=(9, 12, 10), toms=(3, 2, 1), crashes=(20, 17), ride=15, bell=14),
        "TAMA Superstar 22in kick and 12/13/16in toms, Pearl maple snare, Paiste cymbals (18in Rude Thin "
        "crash, 18in Rude Crash/Ride as crash_2), hand-made 22in ride; 4-5 velocity layers, 156 MB at 48 kHz"),
    _drumkit("h2_gmrock", GMROCK, "GMRockKit", _notes(
        kick=0, snare=2, side_stick=1, hihat=(6, 8, 10), toms=(9, 7, 5), crashes=(13, 15), ride=14, bell=17),
        "Pearl DX 5-piece, Sabian hi-hat and crash, Zildjian splash (crash_2), 24in ride, Paiste ride bell; "
        "5 velocity layers (the samples of Hydrogen's The Black Pearl 1.0)"),
    _drumkit("h2_millo_v1", EMILLO, "Millo-Drums_v.1", _notes(
        kick=0, snare=4, side_stick=1, hihat=(6, 8, 10), toms=(9, 7, 5), crashes=(13, 15), ride=14,
        bell=Note(14, 5.0)),
        "Ludwig kit with a sixties sound, one sample per instrument; no ride bell: the rock ride 5 semitones up"),
    _drumkit("h2_millo_ml2", EMILLO, "Millo_MultiLayered2", _notes(
        kick=0, snare=4, side_stick=1, hihat=(6, 8, 10), toms=(7, Note(7, -3.0), 5),
        crashes=(13, Note(13, -2.0)), ride=12, bell=Note(12, 5.0, (115, 127))),
        "Ludwig kit, 2-5 velocity layers; one rack tom (tom_2 is it 3 semitones down), one crash (crash_2 is "
        "it 2 semitones down), no ride bell (the ride's hardest layer 5 semitones up)"),
    _drumkit("h2_millo_ml3", EMILLO, "Millo_MultiLayered3", _notes(
        kick=Note(0, 0.0, (86, 127)), snare=4, side_stick=1, hihat=(6, 8, 10), toms=(9, 7, 5),
        crashes=(13, Note(13, -2.0)), ride=12, bell=Note(12, 5.0, (99, 127))),
        "Ludwig kit recorded at cricketstudios.it, 1-7 velocity layers; its two soft kick layers are cut short "
        "(60-100 ms), so the kick plays its two hard ones; one crash (crash_2 is it 2 semitones down), no ride "
        "bell (the ride's hardest layer 5 semitones up)"),
    _drumkit("h2_tr808", ARTEMIO, "TR808EmulationKit", _notes(
        kick=0, snare=2, side_stick=14, hihat=(8, 9, 10), toms=(7, 6, 5), crashes=(11, Note(11, -2.0)),
        ride=Note(11, 3.0), bell=15),
        "TR-808 emulation: side_stick is the clave, the one cymbal plays crash_1 (and 2 semitones down "
        "crash_2, 3 up the ride), the cowbell plays the ride bell", kind="electronic"),
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
KITS: dict[str, KitSpec] = _by_name(_SOUNDFONT_KITS + _HYDROGEN_KITS)
