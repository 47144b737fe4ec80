"""Hydrogen drumkits: `read_drumkit` parses a drumkit.xml into instruments and velocity layers, and
`HydrogenPlayer` renders calibrated one-shots from their sample files as Hydrogen's sampler plays them.

    instruments = read_drumkit("/usr/share/hydrogen/data/drumkits/BJA_Pacific")  # {id: DrumkitInstrument}
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from mixwave_hf.data.synth.kits import KitPlayer, drumkit_path, trimmed_one_shot
from mixwave_hf.data.synth.specs import Note
from mixwave_hf.errors import MixwaveError


class DrumkitError(MixwaveError, ValueError):
    """A drumkit.xml that cannot be read as a drumkit, or a sample file it names that cannot be read."""


@dataclass(frozen=True)
class DrumkitLayer:
    """One sample of an instrument: played for velocities min_velocity..max_velocity (0-1, inclusive),
    at `gain` (linear) and `pitch` (semitones)."""

    path: Path
    min_velocity: float = 0.0
    max_velocity: float = 1.0
    gain: float = 1.0
    pitch: float = 0.0


@dataclass(frozen=True)
class DrumkitInstrument:
    """An instrument of a drumkit: its layers, a linear `gain` (its volume x gain x component gain), a pitch
    offset (semitones) and whether velocity scales it."""

    id: int
    name: str
    layers: tuple[DrumkitLayer, ...]
    gain: float = 1.0
    pitch: float = 0.0
    applies_velocity: bool = True

    def layer_index(self, velocity: float) -> int:
        """The layer Hydrogen plays at `velocity` (0-1): the first whose range holds it, else (a hole between
        ranges) the one whose range starts nearest; DrumkitError when the instrument has no layers."""
        if not self.layers:
            raise DrumkitError(f"instrument {self.id} {self.name!r} has no samples; expected at least one layer")
        for index, layer in enumerate(self.layers):
            if layer.min_velocity <= velocity <= layer.max_velocity:
                return index
        return min(range(len(self.layers)), key=lambda index: abs(self.layers[index].min_velocity - velocity))


def _number(element: ElementTree.Element, tag: str, default: float, where: str) -> float:
    """The number in `element`'s <tag> (`default` when it is absent or empty); DrumkitError naming it."""
    value = element.findtext(tag)
    if value is None or not value.strip():
        return default
    try:
        return float(value)
    except ValueError:
        raise DrumkitError(f"{where}: <{tag}> {value.strip()!r}; expected a number") from None


def _layers(instrument: ElementTree.Element, folder: Path, where: str) -> tuple[tuple[DrumkitLayer, ...], float]:
    """(layers, component gain): in <instrumentComponent> (Hydrogen 0.9.7+), in <instrument>, or one
    <filename> in <instrument> (older kits)."""
    components = [component for component in instrument.findall("instrumentComponent")
                  if component.findall("layer")]
    if len(components) > 1:
        raise DrumkitError(f"{where}: {len(components)} components with samples; expected one")
    holder = components[0] if components else instrument
    gain = _number(holder, "gain", 1.0, where) if components else 1.0
    layers = tuple(DrumkitLayer(folder / layer.findtext("filename", ""), _number(layer, "min", 0.0, where),
                                _number(layer, "max", 1.0, where), _number(layer, "gain", 1.0, where),
                                _number(layer, "pitch", 0.0, where))
                   for layer in holder.findall("layer"))
    if not layers and instrument.findtext("filename"):
        layers = (DrumkitLayer(folder / instrument.findtext("filename", "")),)
    return layers, gain


def _instrument(element: ElementTree.Element, folder: Path, source: Path) -> DrumkitInstrument:
    name = element.findtext("name", "")
    try:
        instrument_id = int(element.findtext("id", ""))
    except ValueError:
        raise DrumkitError(f"{source}: instrument {name!r} has <id> {element.findtext('id')!r}; "
                           "expected an integer") from None
    where = f"{source}: instrument {instrument_id} {name!r}"
    layers, component_gain = _layers(element, folder, where)
    return DrumkitInstrument(
        instrument_id, name, layers,
        gain=_number(element, "volume", 1.0, where) * _number(element, "gain", 1.0, where) * component_gain,
        pitch=_number(element, "pitchOffset", 0.0, where),
        applies_velocity=element.findtext("applyVelocity", "true").strip() != "false")


@functools.lru_cache(maxsize=32)
def read_drumkit(path: str | Path) -> dict[int, DrumkitInstrument]:
    """{instrument id: DrumkitInstrument} of a drumkit.xml (or the folder holding it), sample paths
    resolved beside it (not read). With or without Hydrogen's XML namespace; DrumkitError when malformed."""
    source = Path(path) / "drumkit.xml" if Path(path).is_dir() else Path(path)
    try:
        root = ElementTree.parse(source).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise DrumkitError(f"{source}: not readable as XML ({error}); expected a Hydrogen drumkit.xml") from None
    for element in root.iter():  # "{http://www.hydrogen-music.org/drumkit}layer" -> "layer"
        element.tag = element.tag.rpartition("}")[2]
    if root.tag != "drumkit_info" or root.find("instrumentList") is None:
        raise DrumkitError(f"{source}: root <{root.tag}>; expected <drumkit_info> with an <instrumentList>")
    instruments = [_instrument(element, source.parent, source) for element in root.find("instrumentList")
                   if element.tag == "instrument"]
    return {instrument.id: instrument for instrument in instruments}


def read_sample(path: Path, sample_rate: int, semitones: float = 0.0) -> np.ndarray:
    """[samples] float32: the sample file in mono (stereo summed x 0.5) at `sample_rate`, played `semitones`
    higher by resampling (as Hydrogen does: shorter by 2 ** (semitones / 12)); DrumkitError naming the file."""
    if not path.is_file():
        raise DrumkitError(f"sample file {path.name} is missing from {path.parent}; expected the drumkit's files")
    try:
        audio, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except RuntimeError as error:  # soundfile.LibsndfileError
        raise DrumkitError(f"{path}: not readable as audio ({error}); expected a WAV, FLAC or AIFF file") from None
    if audio.shape[1] > 2:
        raise DrumkitError(f"{path}: {audio.shape[1]} channels; expected a mono or stereo sample")
    mono = audio[:, 0] if audio.shape[1] == 1 else audio.sum(axis=1) * np.float32(0.5)
    speed = 2.0 ** (semitones / 12.0)
    if file_rate * speed == sample_rate:
        return np.ascontiguousarray(mono)
    return soxr.resample(mono, file_rate * speed, sample_rate).astype(np.float32, copy=False)


class HydrogenPlayer(KitPlayer):
    """A KitPlayer of a Hydrogen drumkit: each stroke plays the layer its velocity picks, in mono.

    As Hydrogen's sampler: the level is velocity (0-1, linear) x the layer's gain x the instrument's volume,
    gain and component gain; the pitch is the layer's + the instrument's + the note's (resampling). Not
    rendered: pan, Hydrogen's filter and envelope, and its random pitch and humanising.
    """

    def _open(self) -> None:
        self._instruments = read_drumkit(drumkit_path(self.spec) / "drumkit.xml")

    def instrument(self, note: Note) -> DrumkitInstrument:
        """The drumkit's instrument `note` plays; ValueError naming the instruments there are."""
        if note.key not in self._instruments:
            known = {key: instrument.name for key, instrument in self._instruments.items()}
            raise ValueError(f"kit {self.spec.name!r}: {self.spec.samples} has no instrument {note.key}; "
                             f"expected one of {known}")
        return self._instruments[note.key]

    def _raw_one_shot(self, note: Note, velocity: int, seconds: float) -> np.ndarray:
        instrument = self.instrument(note)
        index = instrument.layer_index(int(np.clip(velocity, *note.layer_velocities)) / 127)
        layer = instrument.layers[index]
        shot = self._cache.get((note.key, index, note.semitones, seconds),
                               lambda: self._render(instrument, layer, note.semitones, seconds))
        # Hydrogen's sampler (Sampler::renderNote): velocity (0-1, linear) x layer gain x instrument gain,
        # component gain and volume; the calibration gain then scales every stroke alike.
        level = (velocity / 127 if instrument.applies_velocity else 1.0) * layer.gain * instrument.gain
        return shot * np.float32(level)

    def _render(self, instrument: DrumkitInstrument, layer: DrumkitLayer, semitones: float,
                seconds: float) -> np.ndarray:
        try:
            mono = read_sample(layer.path, self.sample_rate, layer.pitch + instrument.pitch + semitones)
        except DrumkitError as error:
            raise DrumkitError(f"kit {self.spec.name!r}, instrument {instrument.id} {instrument.name!r}: "
                               f"{error}") from None
        return trimmed_one_shot(mono[: int(round(seconds * self.sample_rate))], self.sample_rate)
