"""Whole-song mixing: the one inference function the CLI, the demo, training and evaluation call.

Mixing is exact and needs memory set by the window, not by the song. With valid convolutions and
decimation by 2 at each of L levels, the network is equivariant to shifts by 2**L samples. The song
is cut into `batch_size` segments whose starts are multiples of 2**L (run side by side as one
batch), and each segment is streamed through the network in windows of `window_seconds`
(`mixwave_hf.streaming`), with the model's context read on both sides (zeros beyond the song). The
result equals one forward pass over the whole song, with no seams, and no sample of any layer is
computed twice within a segment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from mixwave_hf.audio import check_finite, resample
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.slots import OVERHEAD_PAIR, OVERHEAD_PAIR_SLOTS, check_overhead_pair, resolve_slot_name
from mixwave_hf.streaming import StreamingMixWaveUNet

#: Default input seconds streamed per forward step, rounded down to a multiple of 2**levels samples:
#: 65,536 samples at 44.1 kHz, the fastest measured on a 2-core CPU (bench/inference.py).
DEFAULT_WINDOW_SECONDS = 1.5


@dataclass
class MixResult:
    """A mix: `audio` [outputs, samples] float32 at `sample_rate` Hz, clipped to [-1, 1].

    `clipped_samples` counts output samples whose magnitude exceeded 1 before clipping, and `peak` is
    the largest magnitude before clipping. `warnings` says what was done to the input.
    """

    audio: np.ndarray
    sample_rate: int
    clipped_samples: int = 0
    peak: float = 0.0
    warnings: list[str] = field(default_factory=list)


def mix_tracks(
    model: MixWaveUNet,
    tracks: Mapping[str, np.ndarray],
    sample_rate: int,
    *,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> MixResult:
    """Mix a whole song with `model`.

    Args:
        model: the network (moved to `device` when one is given).
        tracks: slot name (or an alias, or "overheads" for a stereo overhead pair) -> audio at
            `sample_rate`: [samples] mono or [channels, samples] with 1 or 2 channels. Missing slots
            are silence; shorter tracks are padded with silence at the end; other stereo tracks are
            downmixed to mono (mean of the channels). Any length, from one sample on.
        sample_rate: rate of `tracks` in Hz; resampled to the model's rate and the mix back.
        window_seconds: input seconds streamed per forward step; any value gives the same mix.
        batch_size: segments of the song mixed side by side in one batch (default 1 on CPU, 8 on
            CUDA); any value gives the same mix.
        device: "cpu", "cuda", ... (default: where the model is).
        progress: show a progress bar over windows.

    Returns:
        MixResult with [model.outputs, samples] audio at `sample_rate`, as long as the longest track.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate={sample_rate}; expected a positive rate in Hz")
    if window_seconds <= 0:
        raise ValueError(f"window_seconds={window_seconds}; expected a positive number of seconds")
    slot_audio, warnings = arrange_tracks(tracks, model.slot_names)
    length = slot_audio.shape[-1]
    mix = MixResult(np.zeros((model.outputs, length), np.float32), sample_rate, warnings=warnings)
    if length == 0:
        warnings.append("all tracks are empty; the mix is empty")
        return mix
    if not slot_audio.any():
        warnings.append("all tracks are silent; the mix is silence")
        return mix

    model_audio = resample(slot_audio, sample_rate, model.sample_rate)
    del slot_audio
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    if batch_size is None:
        batch_size = 8 if device.type == "cuda" else 1
    step = 2**model.levels
    window = max(step, int(window_seconds * model.sample_rate) // step * step)
    output = run_streamed(model, torch.from_numpy(model_audio), window, batch_size, device, progress)
    del model_audio

    audio = fit_length(resample(output.numpy(), model.sample_rate, sample_rate), length)
    del output
    mix.peak, mix.clipped_samples = peak_and_overs(audio)
    if mix.clipped_samples:
        warnings.append(
            f"{mix.clipped_samples} output samples ({mix.clipped_samples / audio.size:.3%}) exceeded full "
            f"scale (peak {20 * math.log10(mix.peak):+.1f} dBFS) and were clipped to [-1, 1]; "
            "lower the input tracks' levels to avoid it"
        )
    mix.audio = np.clip(audio, -1.0, 1.0, out=audio)
    return mix


def peak_and_overs(audio: np.ndarray, block: int = 2**20) -> tuple[float, int]:
    """(largest magnitude, samples beyond full scale) of [channels, samples] audio, in blocks so that
    no temporary grows with the song."""
    peak, overs = 0.0, 0
    for start in range(0, audio.shape[-1], block):
        part = np.abs(audio[..., start : start + block])
        peak = max(peak, float(part.max()))
        overs += int(np.count_nonzero(part > 1.0))
    return peak, overs


def arrange_tracks(tracks: Mapping[str, np.ndarray], slot_names: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Tracks by slot name -> ([len(slot_names), samples] float32 in slot order, warnings).

    See `mix_tracks` for what is accepted. Raises ValueError naming an unknown slot, a slot given
    twice, more than 2 channels, or NaN/inf samples.
    """
    warnings: list[str] = []
    by_slot: dict[str, np.ndarray] = {}
    given_as: dict[str, str] = {}
    for name, audio in tracks.items():
        slot = resolve_slot_name(name, slot_names)
        if slot in given_as:
            raise ValueError(f"tracks {given_as[slot]!r} and {name!r} both give slot {slot!r}; keep one")
        given_as[slot] = name
        audio = as_channels(audio, name)
        check_finite(audio, name)
        if slot == OVERHEAD_PAIR:
            if audio.shape[0] == 1:
                warnings.append(f"{name}: mono overheads; fed to both {' and '.join(OVERHEAD_PAIR_SLOTS)}")
                audio = np.concatenate([audio, audio])
            for slot_of_pair, channel in zip(OVERHEAD_PAIR_SLOTS, audio, strict=True):
                by_slot[slot_of_pair] = channel
            continue
        if audio.shape[0] == 2:
            warnings.append(f"{name}: stereo; downmixed to mono (mean of the channels) for slot {slot!r}")
        by_slot[slot] = audio.mean(axis=0) if audio.shape[0] == 2 else audio[0]
    check_overhead_pair(given_as)

    lengths = {slot: len(audio) for slot, audio in by_slot.items()}
    length = max(lengths.values(), default=0)
    shorter = sorted(slot for slot, n in lengths.items() if n < length)
    if shorter:
        warnings.append(f"tracks of different lengths: {', '.join(shorter)} padded with silence to {length} samples")
    arranged = np.zeros((len(slot_names), length), np.float32)
    for index, slot in enumerate(slot_names):
        if slot in by_slot:
            arranged[index, : lengths[slot]] = by_slot[slot]
    return arranged, warnings


def as_channels(audio: np.ndarray, name: str) -> np.ndarray:
    """[samples] or [channels, samples] (1 or 2 channels) -> [channels, samples] float32."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        return audio[None]
    if audio.ndim == 2 and audio.shape[0] in (1, 2):
        return audio
    hint = " (transpose soundfile's [samples, channels])" if audio.ndim == 2 and audio.shape[1] in (1, 2) else ""
    raise ValueError(f"{name}: audio of shape {audio.shape}; expected [samples] or [channels, samples] "
                     f"with 1 or 2 channels{hint}")


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """[channels, n] -> [channels, length]: cut or padded with zeros at the end."""
    if audio.shape[-1] >= length:
        return np.ascontiguousarray(audio[..., :length])
    return np.pad(audio, ((0, 0), (0, length - audio.shape[-1])))


def run_streamed(
    model: MixWaveUNet,
    tracks: torch.Tensor,
    window: int,
    segments: int,
    device: torch.device,
    progress: bool = False,
) -> torch.Tensor:
    """[slots, samples] tracks at the model's rate -> [outputs, samples] mix, equal to one full pass.

    The song is split into `segments` parts (starts on multiples of 2**levels) streamed side by
    side, `window` input samples (a multiple of 2**levels) at a time.
    """
    step = 2**model.levels
    if window <= 0 or window % step:
        raise ValueError(f"window={window}; expected a positive multiple of {step} samples")
    slots, total = tracks.shape
    context = model.valid_lengths().context
    segments = max(1, min(segments, -(-total // step)))
    segment_length = -(-total // (segments * step)) * step
    output = torch.zeros(model.outputs, total)  # exactly the song: no second copy to trim it later
    produced = 0
    batch = torch.zeros(segments, slots, window)
    # Each segment needs its context on both sides, plus up to 2**levels samples of alignment.
    windows = -(-(segment_length + 2 * context + step) // window)
    was_training = model.training
    model.eval()
    bar = tqdm(total=windows, unit="window", desc="mixing", disable=not progress or windows < 10, leave=False)
    try:
        with torch.inference_mode():
            stream = StreamingMixWaveUNet(model)
            position = -context
            while produced < segment_length:
                for index in range(segments):
                    fill_window(batch[index], tracks, index * segment_length + position)
                mixed = stream.push(batch.to(device)).float().cpu()
                count = min(mixed.shape[-1], segment_length - produced)
                for index in range(segments):
                    start = index * segment_length + produced
                    kept = max(0, min(count, total - start))  # the last segment reaches past the song
                    output[:, start : start + kept] = mixed[index, :, :kept]
                produced += count
                position += window
                bar.update(1)
    finally:
        bar.close()
        model.train(was_training)
    return output


def fill_window(window: torch.Tensor, tracks: torch.Tensor, start: int) -> None:
    """Copy tracks[:, start : start + window length] into `window`, zeros where it lies beyond the song."""
    length, total = window.shape[-1], tracks.shape[-1]
    begin, end = max(start, 0), min(start + length, total)
    window.zero_()
    if end > begin:
        window[:, begin - start : end - start] = tracks[:, begin:end]
