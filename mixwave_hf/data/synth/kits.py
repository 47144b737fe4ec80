"""Sampled drum kits: the registry (`KITS`, registry.py), where each kit's samples are, and one-shot renders.

A KitPlayer renders calibrated one-shots: a SoundfontPlayer (SF2, tinysoundfont), or a
hydrogen.HydrogenPlayer (a Hydrogen drumkit's sample files); `players.kit_player(kit)` picks one. The samples
come from Debian packages (`make data`); MIXWAVE_SOUNDFONT_DIR and MIXWAVE_DRUMKIT_DIR are searched first.
Notes: docs/synthetic-corpus.md.

    shot = SoundfontPlayer("avl_black_pearl").one_shot("snare", "hit", velocity=100)  # [samples] float32
"""

from __future__ import annotations

import functools
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from mixwave_hf.data.synth.registry import KITS
from mixwave_hf.data.synth.specs import ARTICULATIONS, OPTIONAL_ARTICULATIONS, PIECES, KitSpec, Note
from mixwave_hf.errors import MixwaveError

__all__ = ["ARTICULATIONS", "KITS", "OPTIONAL_ARTICULATIONS", "PIECES", "KitNotInstalledError", "KitPlayer",
           "KitSpec", "Note", "SoundfontPlayer", "drumkit_path", "kit_credits", "kit_installed",
           "kit_spec", "soundfont_path"]

#: Peak (dBFS, mono) of every articulation at MIDI velocity 100 after calibration, so that kits whose
#: samples sit at different levels play with the same balance; some articulations are naturally
#: softer or louder than a plain hit (ARTICULATION_OFFSET_DB). Brushes: a tap peaks ~8 dB under a stick
#: hit (FluidR3's brush tap sits 10 dB under its Standard snare at one velocity); the sweep peaks ~6 dB
#: under the tap in both GS Brush sets (FluidR3, MuseScore), and lasts longer.
CALIBRATED_PEAK_DB = -6.0
ARTICULATION_OFFSET_DB = {"side_stick": -4.0, "pedal": -4.0, "open": 2.0, "brush_tap": -8.0, "brush_sweep": -14.0}
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
DRUMKIT_DIR = Path("/usr/share/hydrogen/data/drumkits")
DRUMKIT_DIR_VARIABLE = "MIXWAVE_DRUMKIT_DIR"
INSTALL_HINT = ("run `make data` (it installs the Debian packages "
                f"{' '.join(sorted({kit.debian_package for kit in KITS.values()}))})")


class KitNotInstalledError(MixwaveError, FileNotFoundError):
    """A kit's soundfont or drumkit is not on this machine; the message says how to install it."""


def kit_spec(kit: str | KitSpec) -> KitSpec:
    """The KitSpec of a kit name (or the spec itself); ValueError names the known kits."""
    if isinstance(kit, KitSpec):
        return kit
    if kit not in KITS:
        raise ValueError(f"unknown kit {kit!r}; expected one of {sorted(KITS)}")
    return KITS[kit]


def _find(spec: KitSpec, what: str, name: str, variable: str, default: Path, found: Callable[[Path], bool]) -> Path:
    folders = [Path(os.environ[variable])] if os.environ.get(variable) else []
    folders.append(default)
    for folder in folders:
        if found(folder / name):
            return folder / name
    raise KitNotInstalledError(
        f"kit {spec.name!r}: {what} {name} not found in {', '.join(map(str, folders))}; "
        f"{INSTALL_HINT}, or set {variable} to a folder holding it"
    )


def soundfont_path(kit: str | KitSpec) -> Path:
    """Where the kit's soundfont is; KitNotInstalledError (saying how to install it) when it is nowhere."""
    spec = kit_spec(kit)
    if not spec.soundfont:
        raise ValueError(f"kit {spec.name!r} is a {spec.samples}; expected a soundfont kit")
    return _find(spec, "soundfont", spec.soundfont, SOUNDFONT_DIR_VARIABLE, SOUNDFONT_DIR, Path.is_file)


def drumkit_path(kit: str | KitSpec) -> Path:
    """The folder of the kit's Hydrogen drumkit (holding drumkit.xml); KitNotInstalledError when it is nowhere."""
    spec = kit_spec(kit)
    if not spec.drumkit:
        raise ValueError(f"kit {spec.name!r} is {spec.samples}; expected a Hydrogen drumkit")
    return _find(spec, "Hydrogen drumkit", spec.drumkit, DRUMKIT_DIR_VARIABLE, DRUMKIT_DIR,
                 lambda folder: (folder / "drumkit.xml").is_file())


def kit_installed(kit: str | KitSpec) -> bool:
    """True if the kit's soundfont or drumkit is found."""
    spec = kit_spec(kit)
    try:
        drumkit_path(spec) if spec.drumkit else soundfont_path(spec)
    except KitNotInstalledError:
        return False
    return True


def kit_credits(kits: Iterable[str | KitSpec]) -> list[str]:
    """The licence and attribution lines of `kits` (names or specs), one per sample source, in first-seen
    order: "Kits a, b (licence L): <attribution>", for dataset cards and ATTRIBUTION files."""
    sources: dict[tuple[str, str], list[str]] = {}
    for spec in map(kit_spec, kits):
        names = sources.setdefault((spec.license, spec.attribution), [])
        if spec.name not in names:
            names.append(spec.name)
    return [f"Kit{'s' if len(names) > 1 else ''} {', '.join(names)} (licence {license}): {attribution}"
            for (license, attribution), names in sources.items()]


class OneShotCache:
    """Rendered one-shots by key, least recently used dropped first beyond `max_bytes` (the newest always stays)."""

    def __init__(self, max_bytes: int = ONE_SHOT_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._shots: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple, render: Callable[[], np.ndarray]) -> np.ndarray:
        """The one-shot cached under `key`, made by calling `render` when it is not."""
        if key in self._shots:
            self._shots.move_to_end(key)
            return self._shots[key]
        shot = self._shots[key] = render()
        self._bytes += shot.nbytes
        while self._bytes > self.max_bytes and len(self._shots) > 1:
            self._bytes -= self._shots.popitem(last=False)[1].nbytes
        return shot


def trimmed_one_shot(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """[samples] float32 (a copy): `mono` from ATTACK_LEAD_SECONDS before its attack to its last sample above
    -100 dBFS (empty when it never gets there)."""
    magnitude = np.abs(mono)
    audible = np.flatnonzero(magnitude > 1e-5)
    attack = np.flatnonzero(magnitude >= ATTACK_THRESHOLD * magnitude.max()) if audible.size else audible
    # Samples may hold a quiet lead-in (a hi-hat pedal's mechanism, 20 ms before its chick):
    # start just before the attack, so strokes sound on their beat.
    start = max(0, int(attack[0]) - int(ATTACK_LEAD_SECONDS * sample_rate)) if attack.size else 0
    return mono[start : audible[-1] + 1 if audible.size else 0].copy()


class KitPlayer:
    """Renders calibrated one-shots of a kit's notes at one sample rate (mono float32); subclasses render
    the raw strokes (SoundfontPlayer, hydrogen.HydrogenPlayer).

    A one-shot is the note struck once at MIDI velocity 1-127 from silence, in mono, scaled by the
    articulation's calibration gain; it starts 2 ms before its attack (the first sample within 12 dB of
    its peak: lead-ins are cut), so a stroke placed at sample n is heard from sample n.
    """

    def __init__(self, kit: str | KitSpec, sample_rate: int = 44100):
        self.spec = kit_spec(kit)
        self.sample_rate = sample_rate
        self._open()
        self._cache = OneShotCache(ONE_SHOT_CACHE_BYTES)
        #: Gain (dB) per piece and articulation that brings its velocity-100 peak to the calibrated level.
        self.calibration_db = {piece: {articulation: self._calibration_db(piece, articulation)
                                       for articulation in self.articulations(piece)} for piece in PIECES}

    def _open(self) -> None:
        """Load what rendering needs (subclasses)."""

    def _raw_one_shot(self, note: Note, velocity: int, seconds: float) -> np.ndarray:
        """[samples] float32: `note` at `velocity`, at most `seconds` long, trimmed, before calibration."""
        raise NotImplementedError

    def articulations(self, piece: str) -> tuple[str, ...]:
        """The articulations of `piece` this kit samples: ARTICULATIONS, then the optional ones it has."""
        optional = tuple(art for art in OPTIONAL_ARTICULATIONS.get(piece, ()) if self.spec.has_note(piece, art))
        return ARTICULATIONS[piece] + optional

    def _calibration_db(self, piece: str, articulation: str) -> float:
        note = self.spec.note(piece, articulation)
        shot = self._raw_one_shot(note, 100, ONE_SHOT_SECONDS[piece])
        peak = float(np.abs(shot).max()) if shot.size else 0.0
        if peak < 1e-4:
            raise ValueError(f"kit {self.spec.name!r}: {piece} {articulation} (note {note.key}) renders silence "
                             f"from {self.spec.samples}; expected a sampled drum note")
        return float(CALIBRATED_PEAK_DB + ARTICULATION_OFFSET_DB.get(articulation, 0.0) - 20 * np.log10(peak))

    def one_shot(self, piece: str, articulation: str, velocity: int) -> np.ndarray:
        """[samples] float32: one calibrated hit of `piece` at MIDI velocity 1-127 (a new array)."""
        if not 1 <= velocity <= 127:
            raise ValueError(f"velocity {velocity}; expected a MIDI velocity 1-127")
        shot = self._raw_one_shot(self.spec.note(piece, articulation), int(velocity), ONE_SHOT_SECONDS[piece])
        return shot * np.float32(10 ** (self.calibration_db[piece][articulation] / 20))


class SoundfontPlayer(KitPlayer):
    """A KitPlayer of an SF2 preset (tinysoundfont, float output; its stereo output summed to mono x 0.5)."""

    def _open(self) -> None:
        self._synth, self._soundfont_id = _loaded_soundfont(str(soundfont_path(self.spec)), self.sample_rate)
        self._channel = 0
        self._select_preset()

    def _raw_one_shot(self, note: Note, velocity: int, seconds: float) -> np.ndarray:
        return self._cache.get((note.key, note.semitones, velocity, seconds),
                               lambda: self._render(note, velocity, seconds))

    def _render(self, note: Note, velocity: int, seconds: float) -> np.ndarray:
        synth = self._synth
        self._select_preset()  # players of one soundfont share its synth
        synth.set_tuning(self._channel, note.semitones)
        synth.noteon(self._channel, note.key, velocity)
        stereo = np.frombuffer(synth.generate_simple(int(round(seconds * self.sample_rate))), np.float32)
        mono = stereo.reshape(-1, 2).sum(axis=1) * np.float32(0.5)
        # All sound off, then let the quick release finish, so the next one-shot starts from silence.
        synth.sounds_off(self._channel)
        synth.generate_simple(self.sample_rate // 10)
        return trimmed_one_shot(mono, self.sample_rate)

    def _select_preset(self) -> None:
        try:
            self._synth.program_select(self._channel, self._soundfont_id, self.spec.bank, self.spec.preset)
        except RuntimeError as error:
            raise ValueError(f"kit {self.spec.name!r}: {self.spec.soundfont} has no preset bank "
                             f"{self.spec.bank} / {self.spec.preset} ({error})") from error


@functools.lru_cache(maxsize=4)
def _loaded_soundfont(path: str, sample_rate: int):
    """(tinysoundfont.Synth, soundfont id) with `path` loaded, shared by the kits of that soundfont."""
    import tinysoundfont  # imported here: only rendering needs it (and it never needs pyaudio)

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    return synth, synth.sfload(path)
