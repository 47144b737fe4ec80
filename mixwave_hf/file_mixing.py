"""Mixing stem files of any length into a file, in memory bounded by the window, not by the song.

    mixed = mix_files(model, {"kick": "kick.wav", "snare": "snare.wav", "overheads": "oh.wav"}, "mix.wav")
    mixed.peak, mixed.warnings      # the report; the mix is in the file (mixed.audio is None)

`mix_files` reads the files block by block (`song_files`), measures what needs the whole song in passes
over them first (`song_measures`: DC offsets, levelling), then streams the song once more through the
network (`streaming.StreamingMixWaveUNet`, as `mixing.run_streamed` with one segment), the resampling back,
the peak limiter (`limiter.PeakLimiter`) and the writer. Each step is the one `mixing.mix_tracks` takes on
the whole song, block by block, so the file holds `mix_tracks`' mix of the same files (to float rounding).
Memory figures: docs/benchmarks.md ("Memory of `mixwave mix`").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
from tqdm.auto import tqdm

from mixwave_hf.audio import AudioError, Resampler, output_encoding
from mixwave_hf.files import atomic_path
from mixwave_hf.limiter import PeakLimiter
from mixwave_hf.loudness import BlockPowerMeter, gated_loudness
from mixwave_hf.mixing import (
    DEFAULT_PEAK_CEILING_DB,
    DEFAULT_WINDOW_SECONDS,
    MixResult,
    _check_mix_options,
    dc_warnings,
    mirrors_model,
    note_levelling,
    overhead_swap,
    quiet_warning,
    report_peaks,
    slot_trims,
    static_part_warning,
    trim_gains,
    window_samples,
)
from mixwave_hf.slots import check_perspective
from mixwave_hf.song_files import SongFiles, open_song
from mixwave_hf.song_measures import SongMeasures, measure_song, model_rate_blocks
from mixwave_hf.streaming import StreamingMixWaveUNet

#: Output samples written per block of silence (a song without sound is written without the network).
WRITE_BLOCK = 2**16


@dataclass
class MixedFile(MixResult):
    """A mix written to `path` by `mix_files`: the report of `MixResult` (peak, limited and clipped samples, input
    gains, bleed-only tracks, trims, intensity, perspective, warnings) without the audio (`audio` is None: it
    is in the file), with the file's `samples` per channel, `channels` and `output_peak`, the largest magnitude
    written (after the limiter and clipping)."""

    path: Path | None = None
    samples: int = 0
    channels: int = 0
    output_peak: float = 0.0


def mix_files(
    model,
    files_by_slot: Mapping[str, str | Path] | SongFiles,
    output_path: str | Path,
    *,
    sample_rate: int | None = None,
    output_format: str = "float",
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    peak_ceiling_db: float | None = DEFAULT_PEAK_CEILING_DB,
    trims: Mapping[str, float] | None = None,
    intensity: float = 1.0,
    perspective: str | None = None,
) -> MixedFile:
    """Mix stem files with `model` into `output_path`, reading and writing block by block.

    Args:
        files_by_slot: slot name (or alias, or "overheads" for a stereo pair) -> audio file (any length, rate,
            mono or stereo; `mix_tracks` says how each is fed), or the `SongFiles` of `song_files.open_song`.
        output_path: the mix's file; its extension picks the container (`audio.output_encoding`). Written
            through `files.atomic_path`: a failure leaves no partial file.
        sample_rate: the rate (Hz) the files are read at and the mix written at; None: the files' most common
            rate (as `audio.read_tracks`). Ignored when `files_by_slot` is a `SongFiles`.
        output_format: "float", "pcm24" or "pcm16" (`audio.OUTPUT_FORMATS`).
        batch_size: streamed as one segment with a window `batch_size` times longer (the same samples per
            step as `mix_tracks`' batch; any value gives the same mix). Default 1 on CPU, 8 on CUDA.
        window_seconds, device, progress, peak_ceiling_db, trims, intensity, perspective: as `mix_tracks`.

    Returns:
        MixedFile: `mix_tracks`' report of the same files, `audio` None. Its warnings begin with the reading's
        (`SongFiles.warnings`, empty files named by path). Raises AudioError naming a file that cannot be read
        or written, ValueError for an option out of range (before anything is read).
    """
    _check_mix_options(44_100 if sample_rate is None else sample_rate, window_seconds, peak_ceiling_db, intensity)
    perspective = check_perspective(perspective or getattr(model, "perspective", "drummer"))
    mirrored = mirrors_model(model, perspective)
    trims_db = slot_trims(trims, model.slot_names)
    container, subtype = output_encoding(output_path, output_format)
    song = files_by_slot if isinstance(files_by_slot, SongFiles) else open_song(files_by_slot, model.slot_names,
                                                                                 sample_rate)
    mix = MixedFile(None, song.sample_rate, trims_db=trims_db, intensity=float(intensity), perspective=perspective,
                    warnings=list(song.warnings), path=Path(output_path), channels=model.outputs)
    measures = measure_song(song, model, progress)
    mix.warnings += song.arrangement_notes()
    mix.samples = measures.length
    peaks = PeakReport()
    if measures.length and measures.audible:
        blocks = mixed_blocks(model, song, measures, mix, window_seconds, batch_size, device, progress, mirrored)
        if peak_ceiling_db is not None:
            blocks = limited_blocks(blocks, peaks, mix.sample_rate, peak_ceiling_db)
    else:
        mix.warnings.append("all tracks are empty; the mix is empty" if not measures.length
                            else "all tracks are silent; the mix is silence")
        blocks = silence(model.outputs, measures.length)
    write_blocks(output_path, blocks, peaks, mix.sample_rate, model.outputs, container, subtype)
    mix.output_peak = peaks.written
    if measures.length and measures.audible:
        report_peaks(mix, peaks.peak, peaks.overs, peaks.limited, peaks.reduction_db, model.outputs * measures.length,
                     peak_ceiling_db)
    return mix


@dataclass
class PeakReport:
    """What the end of the chain measured of the whole mix: its `peak` and `overs` (samples beyond full scale)
    before the limiter and clipping, the limiter's `limited` samples and `reduction_db`, and the peak `written`."""

    peak: float = 0.0
    overs: int = 0
    limited: int = 0
    reduction_db: float = 0.0
    written: float = 0.0


def network_blocks(model, song: SongFiles, measures: SongMeasures, mix: MixedFile, mirrored: bool
                   ) -> Iterator[np.ndarray]:
    """The network's input, [slots, n] float32 blocks at its rate, as `mixing.network_input` prepares the whole
    song: DC offsets removed, levelled, trimmed (and the overheads swapped for the mirrored perspective); the
    warnings and levelling report into `mix`."""
    mix.warnings += dc_warnings(model.slot_names, measures.offsets)
    gains = None
    if measures.levelling is not None:
        gains = (10 ** (np.asarray(measures.levelling.gains_db) / 20)).astype(np.float32)[:, None]
        note_levelling(mix, model.slot_names, measures.levelling, list(measures.peaks > 0))
    else:
        mix.warnings += quiet_warning(float(measures.peaks.max(initial=0.0)))
    trimmed = trim_gains(model.slot_names, mix.trims_db)
    order = overhead_swap(model.slot_names) if mirrored else None
    for block in model_rate_blocks(song, model.sample_rate, offsets=measures.offsets):
        if gains is not None:
            block = block * gains
        for index, gain in trimmed.items():
            block[index] *= gain
        yield block if order is None else block[order]


def network_output(model, blocks: Iterator[np.ndarray], total: int, window: int, device: torch.device,
                   split_output: bool, progress: bool) -> Iterator[torch.Tensor]:
    """[outputs (2·outputs with `split_output`), n] float32 blocks of the network's output for a `total`-sample
    input given in [slots, n] `blocks`, as `mixing.run_streamed` with one segment computes it: the model's
    context of zeros first, `window` samples per step, zeros after the song."""
    step, context = 2**model.levels, model.valid_lengths().context
    padded = -(-total // step) * step
    pending, held, produced = [np.zeros((len(model.slot_names), context), np.float32)], context, 0
    steps = -(-(padded + 2 * context + step) // window)
    bar = tqdm(total=steps, unit="window", desc="mixing", disable=not progress or steps < 10, leave=False)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            stream = StreamingMixWaveUNet(model, split_output=split_output)
            while produced < padded:
                for block in blocks:
                    pending.append(block)
                    held += block.shape[1]
                    if held >= window:
                        break
                joined = np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
                chunk = np.zeros((joined.shape[0], window), np.float32)
                chunk[:, : min(window, held)] = joined[:, :window]
                pending, held = [joined[:, window:]], max(0, held - window)
                mixed = stream.push(torch.from_numpy(chunk)[None].to(device)).float().cpu()[0]
                count = min(mixed.shape[-1], padded - produced)
                kept = max(0, min(count, total - produced))
                if kept:
                    yield mixed[:, :kept]
                produced += count
                bar.update(1)
    finally:
        bar.close()
        model.train(was_training)


def mixed_blocks(model, song: SongFiles, measures: SongMeasures, mix: MixedFile, window_seconds: float,
                 batch_size: int | None, device, progress: bool, mirrored: bool) -> Iterator[np.ndarray]:
    """The mix, [outputs, n] float32 blocks at the song's rate, `measures.length` samples, before the limiter:
    the network's output (blended for `mix.intensity` below 1), mirrored, resampled back."""
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    batch_size = batch_size or (8 if device.type == "cuda" else 1)
    window = window_samples(model, window_seconds * batch_size, measures.model_length)
    split = mix.intensity != 1.0
    inputs = network_blocks(model, song, measures, mix, mirrored)
    outputs = network_output(model, inputs, measures.model_length, window, device, split, progress)
    if split:
        outputs = blended(outputs, mix, model.sample_rate)
    resampler = Resampler(model.sample_rate, song.sample_rate, model.outputs)
    written = 0
    for output in outputs:
        block = resampler.push((output.flip(0) if mirrored else output).numpy())
        block = block[:, : measures.length - written]
        written += block.shape[1]
        yield block
    block = resampler.finish()[:, : measures.length - written]
    written += block.shape[1]
    yield from [block, *silence(model.outputs, measures.length - written)]


def blended(parts: Iterator[torch.Tensor], mix: MixedFile, sample_rate: int) -> Iterator[torch.Tensor]:
    """[2·outputs, n] static and processed parts -> [outputs, n] static + intensity x processed, as
    `mixing.blend_parts`; the whole song's loudness of the static part and of the full mix are measured on the way
    (`loudness.BlockPowerMeter`) for `mixing.static_part_warning`, appended to `mix.warnings` at the end."""
    static_meter, full_meter = BlockPowerMeter(sample_rate), BlockPowerMeter(sample_rate)
    for part in parts:
        outputs = part.shape[0] // 2
        static, processed = part[:outputs], part[outputs:]
        static_meter.push(static.numpy())
        full_meter.push((static + processed).numpy())
        yield processed.mul_(mix.intensity).add_(static)
    mix.warnings += static_part_warning(mix.intensity, gated_loudness(static_meter.powers()),
                                        gated_loudness(full_meter.powers()))


def limited_blocks(blocks: Iterator[np.ndarray], peaks: PeakReport, sample_rate: int,
                   peak_ceiling_db: float) -> Iterator[np.ndarray]:
    """`blocks` through the peak limiter (`limiter.PeakLimiter`: `limit_peaks` on the whole song, bit for bit); the
    peak before it and, at the end, its count and largest reduction into `peaks`."""
    limiter = None
    for block in blocks:
        limiter = limiter or PeakLimiter(sample_rate, peak_ceiling_db, block.shape[0])
        peaks.peak = max(peaks.peak, float(np.abs(block).max(initial=0.0)))
        yield limiter.push(block)
    if limiter is not None:
        yield limiter.finish()
        peaks.limited, peaks.reduction_db = limiter.limited, limiter.reduction_db


def silence(channels: int, samples: int) -> Iterator[np.ndarray]:
    """`samples` of silence in [channels, n] float32 blocks of at most WRITE_BLOCK."""
    for start in range(0, samples, WRITE_BLOCK):
        yield np.zeros((channels, min(WRITE_BLOCK, samples - start)), np.float32)


def write_blocks(path: str | Path, blocks: Iterator[np.ndarray], peaks: PeakReport, sample_rate: int, channels: int,
                 container: str, subtype: str) -> None:
    """Write [channels, n] `blocks` to `path` (a libsndfile `container` and `subtype`) through `files.atomic_path`,
    clipped to [-1, 1]; into `peaks`: the peak and the samples beyond full scale before clipping, the peak written.
    AudioError naming `path` (never the temporary file) if it cannot be written."""
    path = Path(path)
    with atomic_path(path) as partial, _writing(path, partial):
        path.parent.mkdir(parents=True, exist_ok=True)
        with soundfile.SoundFile(str(partial), "w", sample_rate, channels, subtype, format=container) as output:
            for block in blocks:
                magnitude = np.abs(block)
                peaks.peak = max(peaks.peak, float(magnitude.max(initial=0.0)))
                peaks.overs += int(np.count_nonzero(magnitude > 1.0))
                peaks.written = max(peaks.written, min(1.0, float(magnitude.max(initial=0.0))))
                output.write(np.ascontiguousarray(np.clip(block, -1.0, 1.0).T))


@contextlib.contextmanager
def _writing(path: Path, partial: Path) -> Iterator[None]:
    """A failure to create, write or close the file as an AudioError naming `path`, not `partial`; the errors of
    reading and mixing pass as they are."""
    try:
        yield
    except (OSError, soundfile.LibsndfileError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise AudioError(f"{path}: cannot be written ({reason.replace(str(partial), str(path))})") from error
