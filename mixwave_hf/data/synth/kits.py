"""Sampled drum kits: which soundfont preset plays each drum piece, and one-shot renders of its notes.

`KITS` is the registry; `kit_player(kit)` renders calibrated one-shots (tinysoundfont). The soundfonts
come from Debian packages (`make data`); MIXWAVE_SOUNDFONT_DIR is searched first. Notes: docs/synthetic-corpus.md.

    shot = kit_player("avl_black_pearl").one_shot("snare", "hit", velocity=100)  # [samples] float32
"""

from __future__ import annotations

import functools
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Pieces a groove plays, in render order; the first six have close mics (the slots of the same name).
PIECES = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "crash_1", "crash_2", "ride")
#: Articulations each piece can be played with (the first is its main one, used for level calibration).
ARTICULATIONS: dict[str, tuple[str, ...]] = {
    "kick": ("hit",),
    "snare": ("hit", "side_stick"),
    "hihat": ("closed", "pedal", "open"),
    "tom_1": ("hit",),
    "tom_2": ("hit",),
    "tom_3": ("hit",),
    "crash_1": ("hit",),
    "crash_2": ("hit",),
    "ride": ("hit", "bell"),
}
#: Articulations that only some kits sample (brushes): a kit lists them in its notes when it has them
#: (`KitSpec.has_note`); where it does not, the dry render approximates them from its other notes.
OPTIONAL_ARTICULATIONS: dict[str, tuple[str, ...]] = {"snare": ("brush_tap", "brush_sweep")}
#: Peak (dBFS, mono) of every articulation at MIDI velocity 100 after calibration, so that kits whose
#: samples sit at different levels play with the same balance; some articulations are naturally
#: softer or louder than a plain hit (ARTICULATION_OFFSET_DB).
CALIBRATED_PEAK_DB = -6.0
ARTICULATION_OFFSET_DB = {"side_stick": -4.0, "pedal": -4.0, "open": 2.0}
#: Longest one-shot rendered per piece (seconds); tails are trimmed where they fall below -100 dBFS.
#: A one-shot starts ATTACK_LEAD_SECONDS before its first sample this loud against its peak (-12 dB).
ATTACK_THRESHOLD = 0.25
ATTACK_LEAD_SECONDS = 0.002
#: Bytes of one-shots a KitPlayer keeps (least recently used dropped first); rendering one costs ~0.5 ms.
ONE_SHOT_CACHE_BYTES = 64 * 2**20
ONE_SHOT_SECONDS = {"kick": 2.0, "snare": 2.0, "hihat": 3.5, "tom_1": 3.0, "tom_2": 3.0, "tom_3": 3.0,
                    "crash_1": 8.0, "crash_2": 8.0, "ride": 8.0}

SOUNDFONT_DIR = Path("/usr/share/sounds/sf2")
SOUNDFONT_DIR_VARIABLE = "MIXWAVE_SOUNDFONT_DIR"
INSTALL_HINT = "run `make data` (it installs the Debian packages avldrums.lv2-soundfont fluid-soundfont-gm)"

AVL_LICENSE = "CC-BY-SA-3.0"
AVL_ATTRIBUTION = (
    "AVL Drumkits by Glen MacArthur (AV Linux), soundfont conversion packaged with x42 avldrums.lv2 "
    "(Robin Gareus); Debian package avldrums.lv2-soundfont. Licensed CC-BY-SA 3.0: audio rendered "
    "from these samples is shared under CC-BY-SA 3.0 with this attribution."
)
FLUID_LICENSE = "MIT"
FLUID_ATTRIBUTION = (
    "FluidR3_GM soundfont by Frank Wen and contributors; Debian package fluid-soundfont-gm. Licensed MIT."
)


class KitNotInstalledError(FileNotFoundError):
    """A kit's soundfont file is not on this machine; the message says how to install it."""


@dataclass(frozen=True)
class Note:
    """One articulation of a piece: a MIDI note of the kit's preset, pitch-shifted by `semitones`."""

    key: int
    semitones: float = 0.0


@dataclass(frozen=True)
class KitSpec:
    """A sampled kit: soundfont file name, bank/preset, licence, and the note of every articulation."""

    name: str
    soundfont: str  # a file name, looked up in MIXWAVE_SOUNDFONT_DIR then /usr/share/sounds/sf2
    bank: int
    preset: int
    debian_package: str
    license: str
    attribution: str
    notes: dict[str, dict[str, Note]] = field(default_factory=dict)  # piece -> articulation -> note
    description: str = ""

    def note(self, piece: str, articulation: str) -> Note:
        """The note playing `articulation` of `piece`; ValueError names the accepted ones."""
        try:
            return self.notes[piece][articulation]
        except KeyError:
            raise ValueError(
                f"kit {self.name!r}: no note for {piece} {articulation!r}; "
                f"expected a piece of {list(self.notes)} and an articulation of {ARTICULATIONS.get(piece)}"
            ) from None

    def has_note(self, piece: str, articulation: str) -> bool:
        """Whether the kit samples `articulation` of `piece` (always, for those of ARTICULATIONS)."""
        return articulation in self.notes.get(piece, {})

    def as_metadata(self) -> dict:
        """The spec as JSON-serialisable data (notes as {piece: {articulation: [key, semitones]}})."""
        return {
            "name": self.name, "soundfont": self.soundfont, "bank": self.bank, "preset": self.preset,
            "debian_package": self.debian_package, "license": self.license,
            "notes": {piece: {art: [note.key, note.semitones] for art, note in arts.items()}
                      for piece, arts in self.notes.items()},
        }


def _gm_notes(kick: int = 36, snare: int = 38, side_stick: int = 37, toms: tuple = (48, 45, 41),
              crashes: tuple = (49, 57), ride: int = 51, bell: int = 53) -> dict[str, dict[str, Note]]:
    """Note map of a General MIDI drum kit; toms are (tom_1, tom_2, tom_3), as Note or key."""
    tom_notes = [tom if isinstance(tom, Note) else Note(tom) for tom in toms]
    return {
        "kick": {"hit": Note(kick)},
        "snare": {"hit": Note(snare), "side_stick": Note(side_stick)},
        "hihat": {"closed": Note(42), "pedal": Note(44), "open": Note(46)},
        "tom_1": {"hit": tom_notes[0]}, "tom_2": {"hit": tom_notes[1]}, "tom_3": {"hit": tom_notes[2]},
        "crash_1": {"hit": Note(crashes[0])}, "crash_2": {"hit": Note(crashes[1])},
        "ride": {"hit": Note(ride), "bell": Note(bell)},
    }


def _avl_kit(name: str, soundfont: str, toms: tuple, description: str) -> KitSpec:
    return KitSpec(name, soundfont, 0, 0, "avldrums.lv2-soundfont", AVL_LICENSE, AVL_ATTRIBUTION,
                   _gm_notes(toms=toms), description)


def _fluid_kit(name: str, preset: int, description: str, toms: tuple = (48, 45, 41)) -> KitSpec:
    return KitSpec(name, "FluidR3_GM.sf2", 128, preset, "fluid-soundfont-gm", FLUID_LICENSE, FLUID_ATTRIBUTION,
                   _gm_notes(toms=toms), description)


#: Every kit, by name. The AVL kits sample a rack and a floor tom; the missing tom is the rack tom
#: retuned by 3 semitones (up for a small rack tom, or down for a larger one).
KITS: dict[str, KitSpec] = {kit.name: kit for kit in (
    _avl_kit("avl_black_pearl", "Black_Pearl_4_LV2.sf2", (Note(45), Note(45, -3.0), Note(41)),
             "Pearl 4-piece (22in kick, 12in tom, 16in floor tom), Sabian cymbals; 5 velocity layers"),
    _avl_kit("avl_red_zeppelin", "Red_Zeppelin_4_LV2.sf2", (Note(45, 3.0), Note(45), Note(41)),
             "Ludwig 4-piece (26in kick, 14in tom, 16in floor tom), Zildjian cymbals; 5 velocity layers"),
    _fluid_kit("fluid_standard", 0, "FluidR3 GM Standard kit"),
    _fluid_kit("fluid_room", 8, "FluidR3 GM Room kit (Standard with another kick and hi-hat)"),
    _fluid_kit("fluid_power", 16, "FluidR3 GM Power kit (own kick, snare and toms)"),
    _fluid_kit("fluid_jazz", 32, "FluidR3 GM Jazz kit (own kick and snare)"),
    _fluid_kit("fluid_brush", 40, "FluidR3 GM Brush kit (brushed snare)"),
)}


def kit_spec(kit: str | KitSpec) -> KitSpec:
    """The KitSpec of a kit name (or the spec itself); ValueError names the known kits."""
    if isinstance(kit, KitSpec):
        return kit
    if kit not in KITS:
        raise ValueError(f"unknown kit {kit!r}; expected one of {sorted(KITS)}")
    return KITS[kit]


def soundfont_path(kit: str | KitSpec) -> Path:
    """Where the kit's soundfont is; KitNotInstalledError (saying how to install it) when it is nowhere."""
    spec = kit_spec(kit)
    folders = [Path(os.environ[SOUNDFONT_DIR_VARIABLE])] if os.environ.get(SOUNDFONT_DIR_VARIABLE) else []
    folders.append(SOUNDFONT_DIR)
    for folder in folders:
        if (folder / spec.soundfont).is_file():
            return folder / spec.soundfont
    raise KitNotInstalledError(
        f"kit {spec.name!r}: soundfont {spec.soundfont} not found in {', '.join(map(str, folders))}; "
        f"{INSTALL_HINT}, or set {SOUNDFONT_DIR_VARIABLE} to a folder holding it"
    )


def kit_installed(kit: str | KitSpec) -> bool:
    """True if the kit's soundfont file is found."""
    try:
        soundfont_path(kit)
    except KitNotInstalledError:
        return False
    return True


class KitPlayer:
    """Renders one-shots of a kit's notes at one sample rate (tinysoundfont, float, mono).

    A one-shot is the note struck once at MIDI velocity 1-127 from silence, the synth's stereo
    output summed to mono and scaled by the piece's calibration gain; it starts 2 ms before its attack
    (the first sample within 12 dB of its peak: lead-ins are cut), so a stroke placed at sample n
    is heard from sample n.
    """

    def __init__(self, kit: str | KitSpec, sample_rate: int = 44100):
        self.spec = kit_spec(kit)
        self.sample_rate = sample_rate
        self._synth, self._soundfont_id = _loaded_soundfont(str(soundfont_path(self.spec)), sample_rate)
        self._channel = 0
        self._select_preset()
        self._cache: OrderedDict[tuple[int, float, int, float], np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        #: Gain (dB) per piece and articulation that brings its velocity-100 peak to the calibrated level.
        self.calibration_db = {piece: {articulation: self._calibration_db(piece, articulation)
                                       for articulation in self.articulations(piece)} for piece in PIECES}

    def articulations(self, piece: str) -> tuple[str, ...]:
        """The articulations of `piece` this kit samples: ARTICULATIONS, then the optional ones it has."""
        optional = tuple(art for art in OPTIONAL_ARTICULATIONS.get(piece, ()) if self.spec.has_note(piece, art))
        return ARTICULATIONS[piece] + optional

    def _raw_one_shot(self, note: Note, velocity: int, seconds: float) -> np.ndarray:
        key = (note.key, note.semitones, velocity, seconds)
        if key in self._cache:
            self._cache.move_to_end(key)
        else:
            synth = self._synth
            self._select_preset()  # players of one soundfont share its synth
            synth.set_tuning(self._channel, note.semitones)
            synth.noteon(self._channel, note.key, velocity)
            stereo = np.frombuffer(synth.generate_simple(int(round(seconds * self.sample_rate))), np.float32)
            mono = stereo.reshape(-1, 2).sum(axis=1) * np.float32(0.5)
            # All sound off, then let the quick release finish, so the next one-shot starts from silence.
            synth.sounds_off(self._channel)
            synth.generate_simple(self.sample_rate // 10)
            magnitude = np.abs(mono)
            audible = np.flatnonzero(magnitude > 1e-5)
            attack = np.flatnonzero(magnitude >= ATTACK_THRESHOLD * magnitude.max()) if audible.size else audible
            # Samples may hold a quiet lead-in (a hi-hat pedal's mechanism, 20 ms before its chick):
            # start just before the attack, so strokes sound on their beat.
            start = max(0, int(attack[0]) - int(ATTACK_LEAD_SECONDS * self.sample_rate)) if attack.size else 0
            shot = self._cache[key] = mono[start : audible[-1] + 1 if audible.size else 0].copy()
            self._cache_bytes += shot.nbytes
            while self._cache_bytes > ONE_SHOT_CACHE_BYTES and len(self._cache) > 1:
                self._cache_bytes -= self._cache.popitem(last=False)[1].nbytes
        return self._cache[key]

    def _select_preset(self) -> None:
        try:
            self._synth.program_select(self._channel, self._soundfont_id, self.spec.bank, self.spec.preset)
        except RuntimeError as error:
            raise ValueError(f"kit {self.spec.name!r}: {self.spec.soundfont} has no preset bank "
                             f"{self.spec.bank} / {self.spec.preset} ({error})") from error

    def _calibration_db(self, piece: str, articulation: str) -> float:
        note = self.spec.note(piece, articulation)
        shot = self._raw_one_shot(note, 100, ONE_SHOT_SECONDS[piece])
        peak = float(np.abs(shot).max()) if shot.size else 0.0
        if peak < 1e-4:
            raise ValueError(f"kit {self.spec.name!r}: {piece} {articulation} (note {note.key}) renders silence "
                             f"from {self.spec.soundfont}; expected a sampled drum note")
        return float(CALIBRATED_PEAK_DB + ARTICULATION_OFFSET_DB.get(articulation, 0.0) - 20 * np.log10(peak))

    def one_shot(self, piece: str, articulation: str, velocity: int) -> np.ndarray:
        """[samples] float32: one calibrated hit of `piece` at MIDI velocity 1-127 (a new array)."""
        if not 1 <= velocity <= 127:
            raise ValueError(f"velocity {velocity}; expected a MIDI velocity 1-127")
        shot = self._raw_one_shot(self.spec.note(piece, articulation), int(velocity), ONE_SHOT_SECONDS[piece])
        return shot * np.float32(10 ** (self.calibration_db[piece][articulation] / 20))


@functools.lru_cache(maxsize=4)
def _loaded_soundfont(path: str, sample_rate: int):
    """(tinysoundfont.Synth, soundfont id) with `path` loaded, shared by the kits of that soundfont."""
    import tinysoundfont  # imported here: only rendering needs it (and it never needs pyaudio)

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    return synth, synth.sfload(path)


@functools.lru_cache(maxsize=16)
def kit_player(kit: str, sample_rate: int = 44100) -> KitPlayer:
    """A KitPlayer shared within the process (soundfonts load once per file and sample rate)."""
    return KitPlayer(kit, sample_rate)
