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
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from mixwave_hf.audio import DC_CUTOFF_HZ, empty_track_warning, padded_slice, remove_dc, resample
from mixwave_hf.errors import InputError
from mixwave_hf.limiter import LIMITER_HOLD_SECONDS as LIMITER_HOLD_SECONDS  # re-exported: the mix's limiter
from mixwave_hf.limiter import limit_peaks, peak_and_overs
from mixwave_hf.loudness import BLEED_ONLY_DB, Levelling, apply_gains_db, integrated_loudness, measure_levelling
from mixwave_hf.slots import OVERHEAD_PAIR_SLOTS, check_perspective, fed_slots, resolve_slot_name
from mixwave_hf.streaming import StreamingMixWaveUNet
from mixwave_hf.tracks import arrange_tracks

if TYPE_CHECKING:
    from mixwave_hf.model import MixWaveUNet

#: Default input seconds streamed per forward step, rounded down to a multiple of 2**levels samples:
#: 65,536 samples at 44.1 kHz, the fastest measured on a 2-core CPU (bench/inference.py).
DEFAULT_WINDOW_SECONDS = 1.5
#: The longest window streamed (s): larger values are capped here, and at the song's length, so that
#: memory stays bounded (it grows with the window times the batch size). Any window gives the same mix.
MAX_WINDOW_SECONDS = 60.0
#: Without levelling, tracks whose peaks are all below this (dBFS) are reported as very quiet.
QUIET_INPUT_DB = -50.0
#: The mix's peak ceiling (dBFS), as the engineer's limiter: peaks above it are turned down by `limit_peaks`.
DEFAULT_PEAK_CEILING_DB = -1.0
#: The largest per-slot trim (dB, either way) `mix_tracks` accepts: a fader move, not a rebalance.
MAX_TRIM_DB = 12.0
#: Below intensity 1, a static part this far (LU) from the full mix's loudness is reported: the model
#: keeps much of its balance in the processed part, so intensity changes more than the processing.
STATIC_LOUDNESS_GAP_LU = 6.0


@dataclass
class MixResult:
    """A mix: `audio` [outputs, samples] float32 at `sample_rate` Hz, clipped to [-1, 1].

    `peak` is the largest magnitude of the network's mix, before the peak limiter and clipping;
    `limited_samples` counts samples the limiter turned down (to `peak_ceiling_db`), and
    `clipped_samples` those still beyond full scale that were clipped (only without the limiter).
    `input_gains_db` is the gain (dB) levelling applied to each slot's track, for models that level
    their inputs; `bleed_only` the slots whose tracks "bleed_aware" levelling found to hold only bleed
    (levelled `loudness.BLEED_ONLY_DB` under the others); `trims_db` the user's trims by slot (dB, after
    levelling); `intensity` the processing intensity mixed at; `perspective` whose view the mix pans from.
    `warnings` says what was done to the input and the output.
    """

    audio: np.ndarray
    sample_rate: int
    clipped_samples: int = 0
    peak: float = 0.0
    limited_samples: int = 0
    input_gains_db: dict[str, float] = field(default_factory=dict)
    bleed_only: tuple[str, ...] = ()
    trims_db: dict[str, float] = field(default_factory=dict)
    intensity: float = 1.0
    perspective: str = "audience"
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
    peak_ceiling_db: float | None = DEFAULT_PEAK_CEILING_DB,
    trims: Mapping[str, float] | None = None,
    intensity: float = 1.0,
    perspective: str | None = None,
) -> MixResult:
    """Mix a whole song with `model`.

    Args:
        model: the network (moved to `device` when one is given).
        tracks: slot name (or an alias, or "overheads" for a stereo overhead pair) -> audio at
            `sample_rate`: [samples] mono or [channels, samples] with 1 or 2 channels, float in
            [-1, 1] or integer PCM (int16, int32, uint8: scaled by the type's full scale, with a
            warning). Missing slots are silence; shorter tracks are padded with silence at the end;
            other stereo tracks are downmixed to mono (mean of the channels). Any length.
        sample_rate: rate of `tracks` in Hz; resampled to the model's rate and the mix back.
        window_seconds: input seconds streamed per forward step; any value gives the same mix. Capped
            at MAX_WINDOW_SECONDS and at what the song needs, which bounds memory.
        batch_size: segments of the song mixed side by side in one batch (default 1 on CPU, 8 on
            CUDA); any value gives the same mix.
        device: "cpu", "cuda", ... (default: where the model is).
        progress: show a progress bar over windows.
        peak_ceiling_db: peaks of the mix above this level (dBFS, at most 0) are turned down by a
            look-ahead peak limiter (`limit_peaks`), reported in the warnings; None: no limiter,
            samples beyond full scale are clipped (and reported).
        trims: slot name (or an alias, or "overheads" for both overhead slots) -> gain in dB, within
            ±MAX_TRIM_DB, applied to the track after levelling (for a model without levelling, to the
            track as given) and before the network: a fader moved before the engineer's processing.
        intensity: 0 to 1, how much of the network's processing is heard. The output layer is a
            static part (its weights on the input tracks: gains and pans) plus a processed part (its
            weights on the network's features, and its bias); the mix is static + intensity x
            processed. 1 (default) is the model as trained, bit for bit; 0 its static balance alone.
            Below 1, a static part more than STATIC_LOUDNESS_GAP_LU from the full mix's loudness is
            reported: such a model keeps much of its balance in the processed part.
        perspective: "audience" (a listener in front of the kit: hi-hat right) or "drummer" (hi-hat
            left); None (default): the model's own (`model.perspective`, the one it was trained in).
            The overhead slots' L/R name the mix's sides in that perspective. The other perspective
            is the model's exact mirror: the overhead tracks swap slots, and the mix its channels.

    A track with a DC offset has it removed first (`audio.remove_dc`, reported). Models with
    `levelling` get every track levelled (`loudness.level_tracks`), as in training; for models without
    it, tracks that are all very quiet (peaks below QUIET_INPUT_DB) are reported.

    Returns:
        MixResult with [model.outputs, samples] audio at `sample_rate`, as long as the longest track.
    """
    _check_mix_options(sample_rate, window_seconds, peak_ceiling_db, intensity)
    perspective = check_perspective(perspective or getattr(model, "perspective", "drummer"))
    mirrored = mirrors_model(model, perspective)
    trims_db = slot_trims(trims, model.slot_names)
    slot_audio, warnings = arrange_tracks(tracks, model.slot_names)
    length = slot_audio.shape[-1]
    mix = MixResult(np.zeros((model.outputs, length), np.float32), sample_rate, trims_db=trims_db,
                    intensity=float(intensity), perspective=perspective, warnings=warnings)
    if length == 0:
        warnings.append("all tracks are empty; the mix is empty")
        return mix
    if not slot_audio.any():
        warnings.append("all tracks are silent; the mix is silence")
        return mix

    model_audio = resample(slot_audio, sample_rate, model.sample_rate)
    del slot_audio
    model_audio = network_input(model, model_audio, mix)
    if mirrored:
        model_audio = model_audio[overhead_swap(model.slot_names)]
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    if batch_size is None:
        batch_size = 8 if device.type == "cuda" else 1
    window = window_samples(model, window_seconds, model_audio.shape[-1])
    if intensity == 1.0:  # the model as trained: one output convolution, as in training
        output = run_streamed(model, torch.from_numpy(model_audio), window, batch_size, device, progress)
    else:
        parts = run_streamed(model, torch.from_numpy(model_audio), window, batch_size, device, progress,
                             split_output=True)
        output = blend_parts(parts, intensity, model.sample_rate, warnings)
        del parts
    del model_audio

    output = output.flip(0) if mirrored else output  # the mirror's left is the model's right
    audio = padded_slice(resample(output.numpy(), model.sample_rate, sample_rate), 0, length)
    del output
    mix.audio = limited(audio, mix, peak_ceiling_db)
    return mix


def mirrors_model(model: MixWaveUNet, perspective: str) -> bool:
    """Whether mixing in `perspective` mirrors the model's own; ValueError where it cannot (a model
    without a stereo output and both overhead slots)."""
    if perspective == getattr(model, "perspective", "drummer"):
        return False
    if model.outputs != 2 or not all(slot in model.slot_names for slot in OVERHEAD_PAIR_SLOTS):
        raise InputError(f"perspective {perspective!r}: this model mixes from the {model.perspective}'s only "
                         f"(mirroring needs a stereo output and the slots {list(OVERHEAD_PAIR_SLOTS)})")
    return True


def overhead_swap(slot_names: tuple[str, ...]) -> list[int]:
    """Track order with overhead_L and overhead_R swapped (the other perspective's names for them)."""
    order = list(range(len(slot_names)))
    left, right = (slot_names.index(slot) for slot in OVERHEAD_PAIR_SLOTS)
    order[left], order[right] = right, left
    return order


def _check_mix_options(sample_rate: int, window_seconds: float, peak_ceiling_db: float | None,
                       intensity: float) -> None:
    """ValueError naming the first of `mix_tracks`' options out of its range."""
    if sample_rate <= 0:
        raise InputError(f"sample_rate={sample_rate}; expected a positive rate in Hz")
    if not math.isfinite(window_seconds) or window_seconds <= 0:
        raise InputError(f"window_seconds={window_seconds}; expected a positive number of seconds")
    if peak_ceiling_db is not None and not -60.0 <= peak_ceiling_db <= 0.0:
        raise InputError(f"peak_ceiling_db={peak_ceiling_db}; expected -60 to 0 dBFS, or None for no limiter")
    if not 0.0 <= intensity <= 1.0:
        raise InputError(f"intensity={intensity}; expected 0 (the model's static balance) to 1 (the full mix)")


def network_input(model: MixWaveUNet, model_audio: np.ndarray, mix: MixResult) -> np.ndarray:
    """[slots, samples] at the model's rate -> what the network is given: DC offsets removed (in place),
    levelled for a model with levelling (gains into `mix.input_gains_db`, tracks of bleed only into
    `mix.bleed_only`), then `mix.trims_db` applied; warnings into `mix.warnings`."""
    _, offsets = remove_dc(model_audio, model.sample_rate, in_place=True)
    mix.warnings += dc_warnings(model.slot_names, offsets)
    if getattr(model, "levelling", None) is not None:
        levelling = measure_levelling(model_audio, model.sample_rate, model.levelling, model.levelling_lufs,
                                      model.slot_names)
        model_audio = apply_gains_db(model_audio, levelling.gains_db)
        note_levelling(mix, model.slot_names, levelling, [track.any() for track in model_audio])
    else:
        mix.warnings += quiet_warning(peak_and_overs(model_audio)[0])
    for index, gain in trim_gains(model.slot_names, mix.trims_db).items():
        model_audio[index] *= gain
    return model_audio


def dc_warnings(slot_names: tuple[str, ...], offsets: np.ndarray) -> list[str]:
    """The warnings for the DC `offsets` [slots] removed (`audio.remove_dc`)."""
    return [f"{slot}: DC offset of {offset:+.3f} removed ({DC_CUTOFF_HZ:g} Hz high-pass)"
            for slot, offset in zip(slot_names, offsets, strict=True) if offset]


def note_levelling(mix: MixResult, slot_names: tuple[str, ...], levelling: Levelling, fed: list[bool]) -> None:
    """`levelling`'s gains (of the slots `fed` a track that is not silent) and bleed-only verdicts into `mix`,
    with a warning for each track of bleed only."""
    mix.input_gains_db = {slot: round(float(gain), 2) for slot, gain, audible
                          in zip(slot_names, levelling.gains_db, fed, strict=True) if audible}
    mix.bleed_only = tuple(slot for slot, verdict in zip(slot_names, levelling.verdicts, strict=True)
                           if verdict == "bleed_only")
    mix.warnings += [f"{slot}: holds only bleed, no strokes of its own: levelled {BLEED_ONLY_DB:g} dB under "
                     "the played tracks" for slot in mix.bleed_only]


def quiet_warning(loudest: float) -> list[str]:
    """For a model without levelling: the warning when the loudest track's peak (`loudest`) is below QUIET_INPUT_DB."""
    if not 0 < loudest < 10 ** (QUIET_INPUT_DB / 20):
        return []
    return [f"the tracks are very quiet (loudest peak {20 * math.log10(loudest):.1f} dBFS): the mix will be quiet; "
            "this model mixes at the level it is given (a model with levelling levels each track first)"]


def trim_gains(slot_names: tuple[str, ...], trims_db: dict[str, float]) -> dict[int, np.float32]:
    """{slot index: float32 gain} of the slots trimmed by `trims_db` ({slot: dB}, 0 dB left out)."""
    return {index: np.float32(10 ** (trims_db[slot] / 20)) for index, slot in enumerate(slot_names)
            if trims_db.get(slot)}


def limited(audio: np.ndarray, mix: MixResult, peak_ceiling_db: float | None) -> np.ndarray:
    """The network's mix [outputs, samples] at the output rate, peak-limited to `peak_ceiling_db` (None: no
    limiter) and clipped to [-1, 1], in place; `mix.peak`, the sample counts and the warnings say what was done."""
    peak, overs = peak_and_overs(audio)
    limited_samples, reduction_db = 0, 0.0
    if peak_ceiling_db is not None and peak > 10 ** (peak_ceiling_db / 20):
        limited_samples, reduction_db = limit_peaks(audio, mix.sample_rate, peak_ceiling_db)
    report_peaks(mix, peak, overs, limited_samples, reduction_db, audio.size, peak_ceiling_db)
    return np.clip(audio, -1.0, 1.0, out=audio)


def report_peaks(mix: MixResult, peak: float, overs: int, limited_samples: int, reduction_db: float, size: int,
                 peak_ceiling_db: float | None) -> None:
    """Into `mix`: the mix's `peak` before the limiter, and what the limiter did (`limited_samples` turned down, at
    most `reduction_db`) or, without it, the `overs` clipped, with warnings; `size`: the mix's samples (all
    channels)."""
    mix.peak, mix.clipped_samples = peak, overs
    if peak_ceiling_db is not None and peak > 10 ** (peak_ceiling_db / 20):
        mix.limited_samples, mix.clipped_samples = limited_samples, 0
        mix.warnings.append(
            f"the mix peaked at {20 * math.log10(peak):+.1f} dBFS: a peak limiter turned "
            f"{limited_samples} samples ({limited_samples / size:.3%}) down to "
            f"{peak_ceiling_db:g} dBFS (at most {reduction_db:.1f} dB of gain reduction)"
        )
    if mix.clipped_samples:
        mix.warnings.append(
            f"{mix.clipped_samples} output samples ({mix.clipped_samples / size:.3%}) exceeded full "
            f"scale (peak {20 * math.log10(peak):+.1f} dBFS) and were clipped to [-1, 1] (no peak limiter)"
        )


def warnings_beyond_reading(mixed: MixResult, tracks: Mapping[str, np.ndarray]) -> list[str]:
    """`mixed.warnings` less those about empty tracks, which `audio.read_tracks` already gave naming the
    file (the CLI and the demo read files that way, then mix the tracks by slot)."""
    said = {empty_track_warning(slot) for slot, audio in tracks.items() if audio.shape[-1] == 0}
    return [warning for warning in mixed.warnings if warning not in said]


def slot_trims(trims: Mapping[str, float] | None, slot_names: tuple[str, ...]) -> dict[str, float]:
    """Trims by slot name, alias or "overheads" (both overhead slots) -> {slot: dB} for the slots named.

    Raises ValueError naming the trim for an unknown slot, a slot trimmed twice, or a value that is
    not a number within ±MAX_TRIM_DB.
    """
    checked: dict[str, float] = {}
    given_as: dict[str, str] = {}
    for name, value in (trims or {}).items():
        try:
            slot = resolve_slot_name(name, slot_names)
        except InputError as error:
            raise InputError(f"trim {name!r}: {error}") from error
        try:
            value_db = float(value)
        except (TypeError, ValueError):
            value_db = math.nan
        if not -MAX_TRIM_DB <= value_db <= MAX_TRIM_DB:
            raise InputError(f"trim {name!r}: {value!r} dB; expected a number from {-MAX_TRIM_DB:g} to "
                             f"+{MAX_TRIM_DB:g} dB")
        for each in fed_slots(slot):
            if each in given_as:
                raise InputError(f"trims {given_as[each]!r} and {name!r} both set slot {each!r}; keep one")
            given_as[each], checked[each] = name, value_db
    return checked


def blend_parts(parts: torch.Tensor, intensity: float, sample_rate: int, warnings: list[str]) -> torch.Tensor:
    """[2·outputs, samples] static then processed part (`run_streamed(split_output=True)`) -> the
    [outputs, samples] mix static + intensity x processed, reusing `parts`' memory.

    Appends a warning when the static part's integrated loudness is more than STATIC_LOUDNESS_GAP_LU
    from the full mix's (static + processed), both measured on the whole song (`static_part_warning`).
    """
    outputs = parts.shape[0] // 2
    static, processed = parts[:outputs], parts[outputs:]
    static_lufs = integrated_loudness(static.numpy(), sample_rate)
    full_lufs = integrated_loudness((static + processed).numpy(), sample_rate)
    warnings += static_part_warning(intensity, static_lufs, full_lufs)
    return processed.mul_(intensity).add_(static)


def static_part_warning(intensity: float, static_lufs: float, full_lufs: float) -> list[str]:
    """Below intensity 1: the warning when the static part's loudness (LUFS) is more than STATIC_LOUDNESS_GAP_LU
    from the full mix's."""
    if not math.isfinite(full_lufs) or abs(static_lufs - full_lufs) <= STATIC_LOUDNESS_GAP_LU:
        return []
    gap = f"{abs(static_lufs - full_lufs):.1f} LU {'quieter' if static_lufs < full_lufs else 'louder'} than"
    if not math.isfinite(static_lufs):
        gap = "silent, beside"
    return [f"intensity {intensity:g}: the model's static part alone ({static_lufs:.1f} LUFS) is {gap} its full mix "
            f"({full_lufs:.1f} LUFS); this model keeps much of its balance in the processed part (it was probably "
            "trained without the balance initialisation), so lowering the intensity changes the level and balance, "
            "not only the processing"]


def window_samples(model: MixWaveUNet, window_seconds: float, length: int) -> int:
    """Input samples streamed per step for a `length`-sample song at the model's rate: `window_seconds`,
    at most MAX_WINDOW_SECONDS and the song's padded length (song, context on both sides and 2**levels
    of alignment), as a positive multiple of 2**levels."""
    step = 2**model.levels
    padded = -(-(length + 2 * model.valid_lengths().context + step) // step) * step
    seconds = min(window_seconds, MAX_WINDOW_SECONDS)
    return max(step, min(int(seconds * model.sample_rate) // step * step, padded))


def run_streamed(
    model: MixWaveUNet,
    tracks: torch.Tensor,
    window: int,
    segments: int,
    device: torch.device,
    progress: bool = False,
    split_output: bool = False,
) -> torch.Tensor:
    """[slots, samples] tracks at the model's rate -> [outputs, samples] mix, equal to one full pass.

    The song is split into `segments` parts (starts on multiples of 2**levels) streamed side by
    side, `window` input samples (a multiple of 2**levels) at a time. With `split_output`, the output
    layer's static and processed parts come out stacked instead: [2·outputs, samples], summing to the mix.
    """
    step = 2**model.levels
    if window <= 0 or window % step:
        raise ValueError(f"window={window}; expected a positive multiple of {step} samples")
    slots, total = tracks.shape
    context = model.valid_lengths().context
    segments = max(1, min(segments, -(-total // step)))
    segment_length = -(-total // (segments * step)) * step
    channels = model.outputs * (2 if split_output else 1)
    output = torch.zeros(channels, total)  # exactly the song: no second copy to trim it later
    produced = 0
    batch = torch.zeros(segments, slots, window)
    # Each segment needs its context on both sides, plus up to 2**levels samples of alignment.
    windows = -(-(segment_length + 2 * context + step) // window)
    was_training = model.training
    model.eval()
    bar = tqdm(total=windows, unit="window", desc="mixing", disable=not progress or windows < 10, leave=False)
    try:
        with torch.inference_mode():
            stream = StreamingMixWaveUNet(model, split_output=split_output)
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
