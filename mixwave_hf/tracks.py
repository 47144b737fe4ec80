"""Tracks given by slot name (or alias) -> one float32 array in the model's slot order, with warnings.

    arranged, warnings = arrange_tracks({"kick": kick, "overheads": stereo_pair}, model.slot_names)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mixwave_hf.audio import check_finite, empty_track_warning
from mixwave_hf.errors import InputError
from mixwave_hf.slots import OVERHEAD_PAIR, OVERHEAD_PAIR_SLOTS, check_overhead_pair, resolve_slot_name


def arrange_tracks(tracks: Mapping[str, np.ndarray], slot_names: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Tracks by slot name -> ([len(slot_names), samples] float32 in slot order, warnings).

    See `mix_tracks` for what is accepted. Raises ValueError naming an unknown slot, a slot given
    twice, more than 2 channels, samples that are not numbers, or NaN/inf samples.
    """
    warnings: list[str] = []
    by_slot: dict[str, np.ndarray] = {}
    given_as: dict[str, str] = {}
    for name, audio in tracks.items():
        slot = claim_slot(name, slot_names, given_as)
        audio = as_channels(audio, name, warnings)
        check_finite(audio, name)
        if audio.shape[-1] == 0:
            warnings.append(empty_track_warning(name))
        warnings += channel_notes(name, slot, audio.shape[0])
        by_slot.update(slot_signals(audio, slot))
    check_overhead_pair(given_as)

    lengths = {slot: len(audio) for slot, audio in by_slot.items()}
    length = max(lengths.values(), default=0)
    warnings += length_notes(lengths)
    arranged = np.zeros((len(slot_names), length), np.float32)
    for index, slot in enumerate(slot_names):
        if slot in by_slot:
            arranged[index, : lengths[slot]] = by_slot[slot]
    return arranged, warnings


def claim_slot(name: str, slot_names: tuple[str, ...], given_as: dict[str, str]) -> str:
    """The slot (or OVERHEAD_PAIR) track `name` feeds, noted in `given_as` ({slot: name}); ValueError naming it
    for an unknown slot or a slot already given."""
    slot = resolve_slot_name(name, slot_names)
    if slot in given_as:
        raise InputError(f"tracks {given_as[slot]!r} and {name!r} both give slot {slot!r}; keep one")
    given_as[slot] = name
    return slot


def channel_notes(name: str, slot: str, channels: int) -> list[str]:
    """What `slot_signals` does to a track `name` of `channels` channels for `slot`, when it does more than pass it
    on: mono overheads fed to both overhead slots, a stereo track downmixed."""
    if slot == OVERHEAD_PAIR and channels == 1:
        return [f"{name}: mono overheads; fed to both {' and '.join(OVERHEAD_PAIR_SLOTS)}"]
    if slot != OVERHEAD_PAIR and channels == 2:
        return [f"{name}: stereo; downmixed to mono (mean of the channels) for slot {slot!r}"]
    return []


def slot_signals(audio: np.ndarray, slot: str) -> dict[str, np.ndarray]:
    """[channels, n] float32 audio of a track for `slot` -> {slot: [n]}: the overhead pair (OVERHEAD_PAIR) split
    into both overhead slots (a mono pair fed to both), a stereo track for one slot the mean of its channels.
    Works on a whole track or on any block of it alike."""
    if slot == OVERHEAD_PAIR:
        pair = np.concatenate([audio, audio]) if audio.shape[0] == 1 else audio
        return dict(zip(OVERHEAD_PAIR_SLOTS, pair, strict=True))
    return {slot: audio.mean(axis=0) if audio.shape[0] == 2 else audio[0]}


def length_notes(lengths: Mapping[str, int]) -> list[str]:
    """The warning for tracks of {slot: samples} shorter than the longest (not empty ones): padded with silence."""
    length = max(lengths.values(), default=0)
    shorter = sorted(slot for slot, n in lengths.items() if 0 < n < length)
    if not shorter:
        return []
    return [f"tracks of different lengths: {', '.join(shorter)} padded with silence to {length} samples"]


def as_channels(audio: np.ndarray, name: str, warnings: list[str] | None = None) -> np.ndarray:
    """[samples] or [channels, samples] (1 or 2 channels) -> [channels, samples] float32.

    Float samples are kept as they are; integer PCM (int16, int32, uint8 ... as `scipy.io.wavfile`
    reads) is scaled by its type's full scale to [-1, 1], noted in `warnings` when given. Raises
    ValueError naming `name` for other types (bool, complex, strings, objects) and other shapes.
    """
    audio = as_float_samples(np.asarray(audio), name, warnings)
    if audio.ndim == 1:
        return audio[None]
    if audio.ndim == 2 and audio.shape[0] in (1, 2):
        return audio
    hint = " (transpose soundfile's [samples, channels])" if audio.ndim == 2 and audio.shape[1] in (1, 2) else ""
    raise InputError(f"{name}: audio of shape {audio.shape}; expected [samples] or [channels, samples] "
                     f"with 1 or 2 channels{hint}")


def as_float_samples(audio: np.ndarray, name: str, warnings: list[str] | None = None) -> np.ndarray:
    """`audio` as float32: floats as they are, integer PCM divided by its full scale (see `as_channels`)."""
    kind = audio.dtype.kind
    if kind == "f":
        return audio.astype(np.float32, copy=False)
    if kind not in "iu":
        raise InputError(f"{name}: samples of type {audio.dtype}; expected float samples in [-1, 1] or "
                         "integer PCM (int16, int32, uint8)")
    half_scale = 2.0 ** (8 * audio.dtype.itemsize - 1)
    offset = half_scale if kind == "u" else 0.0  # unsigned PCM (8-bit WAV) is centred on half scale
    if warnings is not None:
        how = f"(x - {offset:.0f}) / {half_scale:.0f}" if offset else f"x / {half_scale:.0f}"
        warnings.append(f"{name}: {audio.dtype} samples converted to float by their full scale ({how})")
    return (audio.astype(np.float32) - np.float32(offset)) / np.float32(half_scale)  # exact for 8 and 16 bits
