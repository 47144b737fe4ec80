"""What mixing a song from files measures over whole tracks before the network runs, in passes over blocks:
the DC offsets (`audio.remove_dc`), the tracks' peaks and the levelling (`loudness.measure_levelling`), each
equal to its whole-song measure.

    measures = measure_song(open_song(files_by_slot, model.slot_names), model)
    measures.offsets, measures.levelling.gains_db   # [slots]

A first pass reads every file: means and peaks (the DC decision), the levelling's block powers and, for
"bleed_aware", each close mic's candidate events and their rises (`bleed.OnsetDetector`). A track with a DC offset is
measured again with the offset removed (a pass over its file alone). "bleed_aware" then reads the close mics
twice more: once for the short windows around the candidate events (`bleed.window_features`), once for the
loudness of a played mic's own strokes. Memory: a few floats per block, 30 s of envelope frames per close mic and
the candidate events (at most 64 per 30 s per mic); no track is held whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from mixwave_hf.audio import DCFilter, Resampler, dc_offset
from mixwave_hf.bleed import (
    EVENT_BLOCK,
    WINDOW_AFTER_S,
    WINDOW_BEFORE_S,
    MicStrokes,
    OnsetDetector,
    assembled_features,
    event_windows,
    joined_events,
    stroke_regions,
    verdicts,
    window_features,
)
from mixwave_hf.loudness import (
    MEASURE_BLOCKS,
    STROKE_WINDOW_SECONDS,
    BlockPowerMeter,
    Levelling,
    gated_loudness,
    judged_mics,
    level_from_powers,
    levelling_of_levels,
    quiet_session_raise_db,
    track_measures,
    with_verdicts,
)
from mixwave_hf.song_files import SongFiles

#: Songs at least this long (s) show a progress bar over each pass (with `progress`).
PROGRESS_SECONDS = 60.0


@dataclass
class TrackStats:
    """One slot's track at the model's rate, measured block by block: its sum and extremes, the block powers of
    its levelling `measure` (None: not levelled) and, with `onsets`, its candidate events (`bleed.OnsetDetector`)."""

    sample_rate: int
    measure: str | None
    onsets: OnsetDetector | None = None
    total: float = 0.0
    count: int = 0
    high: float = 0.0
    low: float = 0.0
    meter: BlockPowerMeter | None = field(init=False)

    def __post_init__(self) -> None:
        self.meter = None if self.measure is None else BlockPowerMeter(self.sample_rate, *MEASURE_BLOCKS[self.measure])

    @property
    def peak(self) -> float:
        """The largest magnitude so far."""
        return max(self.high, -self.low)

    def push(self, track: np.ndarray) -> None:
        """Measure the next [n] float32 samples."""
        if not track.size:
            return
        self.total += float(np.sum(track, dtype=np.float64))
        self.count += track.size
        self.high, self.low = max(self.high, float(track.max())), min(self.low, float(track.min()))
        if self.meter is not None:
            self.meter.push(track)
        if self.onsets is not None:
            self.onsets.push(track)

    def level(self, raise_db: float = 0.0) -> float:
        """The track's level (LUFS) by its measure (`loudness.level_from_powers`), measured raised by `raise_db`."""
        return level_from_powers(self.meter.powers() * 10 ** (raise_db / 10), self.measure)


@dataclass
class SongMeasures:
    """A song's whole-track measures: `length` (samples at the song's rate) and `model_length` (at the model's);
    `audible` (some sample is not 0); per slot, `offsets` (the DC offsets removed) and `peaks` (largest magnitude
    at the model's rate, offsets removed); `levelling` (None for a model without levelling)."""

    length: int
    model_length: int
    audible: bool
    offsets: np.ndarray
    peaks: np.ndarray
    levelling: Levelling | None


def measure_song(song: SongFiles, model, progress: bool = False) -> SongMeasures:
    """Measure `song` (files by slot) as `mixing.network_input` measures the whole tracks for `model`: DC offsets,
    peaks, levelling. Raises AudioError naming a file with NaN or infinite samples, or one that cannot be read."""
    rate, names = model.sample_rate, model.slot_names
    method = getattr(model, "levelling", None)
    measures, close = track_measures(method, names, len(names)) if method else ([None] * len(names), [])
    bleed_aware = method == "bleed_aware"
    stats = [TrackStats(rate, measure, OnsetDetector(rate) if bleed_aware and close[index] else None)
             for index, measure in enumerate(measures)]
    audible, model_length = [False], 0

    def listen(block: np.ndarray) -> None:
        audible[0] = audible[0] or bool(block.any())

    for block in model_rate_blocks(song, rate, check=True, tap=listen, progress=progress, description="reading"):
        for track, measured in zip(block, stats, strict=True):
            measured.push(track)
        model_length += block.shape[1]
    offsets = np.array([dc_offset(measured.total / measured.count, measured.peak) if measured.count else 0.0
                        for measured in stats])
    remeasured = [names[index] for index in np.flatnonzero(offsets)]
    if remeasured:  # measured again as the network will get it: with the offset removed
        stats = [TrackStats(rate, measured.measure, OnsetDetector(rate) if measured.onsets else None)
                 if name in remeasured else measured for name, measured in zip(names, stats, strict=True)]
        for block in model_rate_blocks(song, rate, remeasured, offsets, progress=progress, description="DC offsets"):
            for index in np.flatnonzero(offsets):
                stats[index].push(block[index])
    levelling = None
    if method:  # a quiet session is measured raised, as `loudness.measure_levelling` does
        raise_db = quiet_session_raise_db(max((measured.peak for measured in stats), default=0.0))
        levels = np.array([measured.level(raise_db) for measured in stats])
        levelling = levelling_of_levels(levels, model.levelling_lufs + raise_db)
        if bleed_aware:
            levelling = streamed_verdicts(song, model, stats, judged_mics(close, levels), offsets, levelling,
                                          model_length, progress, raise_db)
    length = max((song.slot_lengths or {}).values(), default=0)
    return SongMeasures(length, model_length, audible[0], offsets, np.array([each.peak for each in stats]), levelling)


def model_rate_blocks(song: SongFiles, sample_rate: int, slots: Collection[str] | None = None,
                      offsets: np.ndarray | None = None, check: bool = False,
                      tap: Callable[[np.ndarray], None] | None = None, progress: bool = False,
                      description: str = "") -> Iterator[np.ndarray]:
    """`song`'s [slots, n] float32 blocks (`SongFiles.blocks`) resampled to `sample_rate` as `audio.resample`
    resamples the whole song, with the DC `offsets` [slots] removed (`audio.DCFilter`); only `slots` (default:
    all) are read. `tap` sees each block at the song's rate first."""
    wanted = set(song.slot_names if slots is None else slots)
    fed = {slot for file in song.files for slot in file.slots}
    rows = [index for index, slot in enumerate(song.slot_names) if slot in wanted and slot in fed]
    resampler = Resampler(song.sample_rate, sample_rate, len(rows))
    filters = {index: DCFilter(offsets[index], sample_rate) for index in rows if offsets is not None and offsets[index]}
    bar = tqdm(total=round(song.seconds), unit="s", desc=description, leave=False,
               disable=not progress or song.seconds < PROGRESS_SECONDS)

    def at_model_rate(resampled: np.ndarray) -> np.ndarray:
        block = np.zeros((len(song.slot_names), resampled.shape[1]), np.float32)
        block[rows] = resampled
        for index, dc_filter in filters.items():
            dc_filter.apply(block[index])
        return block

    try:
        for block in song.blocks(wanted, check):
            if tap is not None:
                tap(block)
            bar.update(block.shape[1] / song.sample_rate)
            resampled = resampler.push(block[rows])
            if resampled.shape[1]:
                yield at_model_rate(resampled)
        resampled = resampler.finish()
        if resampled.shape[1]:
            yield at_model_rate(resampled)
    finally:
        bar.close()


def streamed_verdicts(song: SongFiles, model, stats: list[TrackStats], judged: list[int], offsets: np.ndarray,
                      levelling: Levelling, length: int, progress: bool, raise_db: float = 0.0) -> Levelling:
    """`levelling` with the close mics `judged` (slot indices) set by their verdicts, as `loudness.measure_levelling`
    sets them ("bleed_aware"); `length`: the song's samples at the model's rate; the tracks measured raised by
    `raise_db` (a quiet session)."""
    rate, names = model.sample_rate, [model.slot_names[index] for index in judged]
    gain = np.float32(10 ** (raise_db / 20))

    def raised(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:  # a copy per block only for a quiet session
        return (block * gain for block in blocks) if raise_db else blocks
    if len(judged) < 2:  # nothing to compare with (`bleed.own_strokes`)
        found = [MicStrokes("unsure", np.zeros(0, np.int64)) for _ in judged]
    else:
        # Onsets and rises of the unraised frames: each compares a mic's frames with its own, so a gain changes
        # them by float rounding at most.
        detected = [stats[index].onsets.finish() for index in judged]
        onsets, owner = joined_events([found_onsets for found_onsets, _ in detected])
        blocks = model_rate_blocks(song, rate, names, offsets, progress=progress, description="events")
        joined = streamed_window_features(raised(block[judged] for block in blocks), onsets, owner, rate, length,
                                          len(judged))
        found = verdicts(assembled_features(onsets, owner, joined, [rises for _, rises in detected], len(judged)),
                         names)
    played = [mic for mic, strokes in zip(judged, found, strict=True) if strokes.verdict == "played"]
    stroke_levels = [math.nan] * len(judged)
    if played:
        blocks = model_rate_blocks(song, rate, [model.slot_names[index] for index in played], offsets,
                                   progress=progress, description="strokes")
        levels = streamed_stroke_levels(raised(blocks),
                                        {index: found[judged.index(index)].onsets for index in played}, rate, length)
        stroke_levels = [levels.get(index, math.nan) for index in judged]
    return with_verdicts(levelling, judged, found, stroke_levels, model.levelling_lufs + raise_db)


def streamed_window_features(blocks: Iterator[np.ndarray], onsets: np.ndarray, owner: np.ndarray, sample_rate: int,
                             length: int, mics: int) -> list[np.ndarray] | None:
    """`bleed.window_features` of every event (`onsets` [events], samples, and their `owner` mics) in the [mics, n]
    `blocks` of a `length`-sample song, in the events' order; None for no events. Holds the audio from the next
    event's window on, and at most EVENT_BLOCK windows."""
    if not len(onsets):
        return None
    order = np.argsort(onsets, kind="stable")
    before, after = round(WINDOW_BEFORE_S * sample_rate), round(WINDOW_AFTER_S * sample_rate)
    ends = onsets[order] + after
    held, held_start, done, parts = np.zeros((mics, 0), np.float32), 0, 0, []

    def take(upto: int) -> None:
        nonlocal done
        for start in range(done, upto, EVENT_BLOCK):
            events = order[start : min(upto, start + EVENT_BLOCK)]
            windows = event_windows(held, onsets[events], sample_rate, held_start, length)
            parts.append((events, window_features(windows, owner[events], sample_rate)))
        done = max(done, upto)

    for block in blocks:
        held = np.concatenate([held, block], axis=1)
        take(int(np.searchsorted(ends, held_start + held.shape[1], side="right")))
        keep_from = onsets[order[done]] - before if done < len(order) else held_start + held.shape[1]
        drop = int(np.clip(keep_from - held_start, 0, held.shape[1]))
        held, held_start = held[:, drop:], held_start + drop
    take(len(order))  # windows that reach past the song's end
    inverse = np.argsort(np.concatenate([events for events, _ in parts]))
    return [np.concatenate([features[index] for _, features in parts], axis=-1)[..., inverse] for index in range(5)]


def streamed_stroke_levels(blocks: Iterator[np.ndarray], onsets_by_track: dict[int, np.ndarray], sample_rate: int,
                           length: int) -> dict[int, float]:
    """{slot index: LUFS} of each track's own strokes (the STROKE_WINDOW_SECONDS after each of its onsets, joined),
    as `loudness.measure_levelling` measures a played mic, from the [slots, n] `blocks` of a `length`-sample song."""
    window = int(round(STROKE_WINDOW_SECONDS * sample_rate))
    meters = {index: BlockPowerMeter(sample_rate) for index in onsets_by_track}
    position = 0
    for block in blocks:
        for index, onsets in onsets_by_track.items():
            mask = stroke_regions(onsets, length, window, position, position + block.shape[1])
            meters[index].push(block[index][mask])
        position += block.shape[1]
    return {index: gated_loudness(meter.powers()) for index, meter in meters.items()}
