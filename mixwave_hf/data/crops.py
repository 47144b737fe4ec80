"""What a training crop is, and how one is cut: `CropOptions`, `CropConfig`, `Segment`, `segment_from_row`, `cut_crop`.

    config = CropConfig.for_model(model.config, CropOptions())  # 121,843 input -> 89,093 output samples
    segment = segment_from_row(row, config, LoaderStats())   # a dataset row, decoded in slot order
    crops = [cut_crop(segment, start, config, gains) for start, gains in random_crops(segment, config, rng)]

Shared by the streaming loader, the bundle and the validation set; docs/data-loading.md explains
what a crop is, gain augmentation and the counters.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mixwave_hf.audio import padded_slice, resample
from mixwave_hf.data.checks import check_at_least, check_not_negative
from mixwave_hf.data.read_position import STATE_KIND
from mixwave_hf.data.schema import TARGETS, decode_audio
from mixwave_hf.loudness import LEVELLING_METHODS, apply_gains_db, level_tracks
from mixwave_hf.slots import DEFAULT_SLOTS, fed_slots, match_slot
from mixwave_hf.tracks import arrange_tracks

if TYPE_CHECKING:
    from mixwave_hf.model import MixWaveUNetConfig

logger = logging.getLogger(__name__)


#: Per-track random input gain (±dB) of training crops for a model that does not level its inputs.
DEFAULT_GAIN_DB = 6.0


@dataclass(frozen=True)
class CropOptions:
    """What a training crop is, as chosen; `CropConfig.for_model` adds what the model decides (slots, rate,
    window, levelling). Checked when made: ValueError naming the option."""

    target: str = field(default="wet", metadata={"help": "mix to learn: wet (the engineer's) or dry",
                                                  "choices": tuple(TARGETS)})
    crop_output_samples: int = field(default=88_200, metadata={"help": (
        "output samples per crop, rounded up to a valid window (88,200: the paper's 121,843 -> 89,093 samples, "
        "2.02 s; 22050 = 0.5 s suits CPUs)")})
    crops_per_segment: int = field(default=8, metadata={"help": "random windows cut from each decoded segment"})
    gain_db: float | None = field(default=None, metadata={"help": (
        f"per-track random input gain, ±dB (the target is left unchanged); null: {DEFAULT_GAIN_DB:g}, or 0 for "
        "a model that levels its inputs (levelling cancels input gains: a gain is refused with it)")})
    min_segment_seconds: float = field(default=1.0, metadata={"help": "shorter segments are skipped"})

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"target={self.target!r}; expected one of {list(TARGETS)}")
        check_at_least(1, crop_output_samples=self.crop_output_samples, crops_per_segment=self.crops_per_segment)
        check_not_negative(min_segment_seconds=self.min_segment_seconds,
                           **({} if self.gain_db is None else {"gain_db": self.gain_db}))


@dataclass(frozen=True)
class CropConfig(CropOptions):
    """A crop of one model: its slots, sample rate, window lengths in samples, levelling, and the `CropOptions`.

    `input_samples` / `output_samples` must be a valid pair of the model (`model.valid_lengths`);
    the defaults are the paper network's 121,843 -> 89,093 samples at 44.1 kHz (`for_model` derives
    them from any model's config). `levelling`: the model's input levelling (`loudness.track_level` method,
    None for none): every segment's tracks are brought to `levelling_lufs` by `loudness.level_tracks` before
    crops are cut, as `mix_tracks` does for a song. Levelling cancels any input gain, so gain augmentation
    would only change the crops' levels after it: here, and only here, `gain_db` None becomes 0 with
    levelling (DEFAULT_GAIN_DB without), and a positive gain with levelling is refused.
    """

    slot_names: tuple[str, ...] = DEFAULT_SLOTS
    sample_rate: int = 44_100
    input_samples: int = 121_843
    output_samples: int = 89_093
    levelling: str | None = None
    levelling_lufs: float = -30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "slot_names", tuple(self.slot_names))
        if self.levelling is not None and self.levelling not in LEVELLING_METHODS:
            raise ValueError(f"levelling={self.levelling!r}; expected None or one of {LEVELLING_METHODS}")
        if self.gain_db is None:
            object.__setattr__(self, "gain_db", 0.0 if self.levelling is not None else DEFAULT_GAIN_DB)
        if self.levelling is not None and self.gain_db > 0:
            raise ValueError(
                f"gain_db={self.gain_db} with levelling={self.levelling!r}: the model levels every track "
                "before the network, so random input gains would only re-level the crops after it; "
                "set the gain augmentation to 0 (data.crops.gain_db: 0, --set data.crops.gain_db=0)"
            )
        if not 0 < self.output_samples <= self.input_samples or (self.input_samples - self.output_samples) % 2:
            raise ValueError(
                f"input_samples={self.input_samples}, output_samples={self.output_samples}; expected a valid "
                "pair of the model (output <= input, even difference): use CropConfig.for_model(model.config)"
            )
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate={self.sample_rate}; expected a positive rate")
        if not self.slot_names or len(set(self.slot_names)) != len(self.slot_names):
            raise ValueError(f"slot_names={list(self.slot_names)}; expected distinct names, at least one")

    @classmethod
    def for_model(cls, model: MixWaveUNetConfig, options: CropOptions | None = None) -> CropConfig:
        """The crops of the model `model` configures (`model.config`): its slots, rate and levelling, and its
        shortest valid window with at least `options.crop_output_samples` outputs (the default 88,200 gives
        the paper's 121,843 -> 89,093 samples on the default model); the rest as `options` say."""
        options = options or CropOptions()
        lengths = model.valid_lengths(options.crop_output_samples)
        chosen = {option.name: getattr(options, option.name) for option in fields(CropOptions)}
        return cls(**chosen, slot_names=tuple(model.slot_names), sample_rate=model.sample_rate,
                   input_samples=lengths.input, output_samples=lengths.output, levelling=model.levelling,
                   levelling_lufs=model.levelling_lufs)

    @property
    def context(self) -> int:
        """Input samples before (and after) the output window: output sample j is input sample j + context."""
        return (self.input_samples - self.output_samples) // 2

    @property
    def min_segment_samples(self) -> int:
        return int(round(self.min_segment_seconds * self.sample_rate))

    def start_range(self, length: int) -> tuple[int, int]:
        """Lowest and highest window start (segment samples) keeping the output inside a `length`-sample segment.

        The context may reach past the segment (silence there). If the segment is shorter than the
        output, the only start puts the output at the segment's start.
        """
        low = -self.context
        return low, max(low, length - self.context - self.output_samples)


@dataclass
class LoaderStats:
    """What a loader did: segments used, crops delivered, rows skipped by reason, track names ignored."""

    segments: int = 0
    crops: int = 0
    corrupt: int = 0  # rows whose audio did not decode (or held NaN/inf, or a target that is not stereo)
    missing_target: int = 0  # rows without the chosen target mix
    short: int = 0  # segments shorter than min_segment_seconds
    no_tracks: int = 0  # rows with no track matching any slot
    resampled: int = 0  # rows decoded at another sample rate and resampled
    duplicate_tracks: int = 0  # tracks ignored because an earlier track of the row had filled their slot
    unmatched_tracks: dict[str, int] = field(default_factory=dict)  # track name -> times ignored

    @property
    def skipped(self) -> int:
        return self.corrupt + self.missing_target + self.short + self.no_tracks

    def add(self, other: LoaderStats) -> LoaderStats:
        """The sum of two sets of counters."""
        total = LoaderStats(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                               for f in fields(self) if f.name != "unmatched_tracks"})
        total.unmatched_tracks = dict(Counter(self.unmatched_tracks) + Counter(other.unmatched_tracks))
        return total

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, counters: dict) -> LoaderStats:
        return cls(**{**counters, "unmatched_tracks": dict(counters.get("unmatched_tracks", {}))})

    @classmethod
    def from_state(cls, state: Any) -> LoaderStats:
        """The counters summed over every reader state found in `state` (ours, or a DataLoader's)."""
        total = cls()
        if isinstance(state, dict):
            if state.get("kind") == STATE_KIND:
                return cls.from_dict(state["stats"])
            for value in state.values():
                total = total.add(cls.from_state(value))
        elif isinstance(state, list | tuple):
            for value in state:
                total = total.add(cls.from_state(value))
        return total

    def summary(self) -> str:
        ignored = ", ".join(f"{name} x{count}" for name, count in sorted(self.unmatched_tracks.items()))
        return (f"{self.segments} segments, {self.crops} crops; skipped {self.corrupt} corrupt, "
                f"{self.missing_target} without the target, {self.short} short, {self.no_tracks} with no "
                f"matching track; {self.resampled} resampled; {self.duplicate_tracks} duplicate tracks ignored"
                + (f"; unmatched track names ignored: {ignored}" if ignored else ""))


@dataclass
class Segment:
    """One decoded segment: `tracks` [slots, samples] in slot order and `target` [2, samples], float32."""

    tracks: np.ndarray
    target: np.ndarray
    song_id: str
    segment_index: int
    metadata: dict = field(default_factory=dict)  # source, license, kit, ... (kept in bundles)

    @property
    def length(self) -> int:
        return self.tracks.shape[-1]


def segment_from_row(row: dict, config: CropConfig, stats: LoaderStats) -> Segment | None:
    """A dataset row (audio undecoded, see `schema.open_split`) -> its Segment, or None if skipped (counted).

    Only tracks that match a slot are decoded. Rows at another sample rate are resampled.
    """
    where = f"song {row.get('song_id')!r} segment {row.get('segment_index')}"
    target_entry = row.get(TARGETS[config.target])
    if target_entry is None:
        stats.missing_target += 1
        if stats.missing_target == 1:
            logger.warning("%s has no %s; skipping such rows (counted in stats.missing_target)",
                           where, TARGETS[config.target])
        return None
    names, entries = row.get("track_names") or [], row.get("tracks") or []
    if len(names) != len(entries):
        stats.corrupt += 1
        logger.warning("%s: skipped, %d track names for %d tracks", where, len(names), len(entries))
        return None
    chosen: dict[str, dict] = {}
    filled: set[str] = set()
    for name, entry in zip(names, entries, strict=True):
        slot = match_slot(name, config.slot_names)
        if slot is None:
            if name not in stats.unmatched_tracks:
                logger.warning("track %r (%s) matches no slot of %s; ignored", name, where, list(config.slot_names))
            stats.unmatched_tracks[name] = stats.unmatched_tracks.get(name, 0) + 1
            continue
        covers = set(fed_slots(slot))
        if covers & filled or name in chosen:
            stats.duplicate_tracks += 1
            continue
        filled |= covers
        chosen[name] = entry
    if not chosen:
        stats.no_tracks += 1
        return None
    # Anything can be wrong with a row's bytes (truncated FLAC, garbage, NaN samples, a mono target):
    # one bad row must cost a counter and a log line, never the training run.
    try:
        rate = None
        decoded = {}
        for name, entry in chosen.items():
            decoded[name], track_rate = decode_audio(entry)
            rate = rate or track_rate
            if track_rate != rate:
                raise ValueError(f"track {name!r} at {track_rate} Hz, others at {rate} Hz")
        tracks, _ = arrange_tracks(decoded, config.slot_names)
        target, target_rate = decode_audio(target_entry)
        if target.shape[0] != 2 or target_rate != rate:
            raise ValueError(f"target of {target.shape[0]} channel(s) at {target_rate} Hz; expected stereo "
                             f"at the tracks' {rate} Hz")
        if not np.isfinite(target).all():
            raise ValueError("target holds NaN or infinite samples")
    except Exception as error:  # any failure of this row: see above
        stats.corrupt += 1
        logger.warning("%s: skipped, audio does not decode (%s: %s); %d corrupt rows so far",
                       where, type(error).__name__, error, stats.corrupt)
        return None
    if rate != config.sample_rate:
        tracks, target = resample(tracks, rate, config.sample_rate), resample(target, rate, config.sample_rate)
        stats.resampled += 1
    length = max(tracks.shape[-1], target.shape[-1])
    metadata = {key: row[key] for key in ("source", "license", "kit", "engineer", "style", "seed") if key in row}
    return Segment(padded_slice(tracks, 0, length), padded_slice(target, 0, length),
                   str(row.get("song_id")), int(row.get("segment_index") or 0), metadata)


def long_enough_segment(segment: Segment | None, config: CropConfig, stats: LoaderStats) -> Segment | None:
    """`segment`, or None where it is None (a skipped row) or shorter than `config.min_segment_seconds`
    (counted in `stats.short`): the one rule every reader skips short segments by."""
    if segment is not None and segment.length < config.min_segment_samples:
        stats.short += 1
        return None
    return segment


def levelled_segment(segment: Segment, config: CropConfig, known_gains: dict | None = None) -> Segment:
    """`segment` with its tracks levelled as the model levels its inputs (`config.levelling`), or as it is.

    `known_gains` ({(song_id, segment_index): gains dB}) keeps each segment's levelling gains: a segment
    read again (every epoch) is scaled by them instead of being measured again (~0.2 s per 30 s segment).
    """
    if config.levelling is None:
        return segment
    key = (segment.song_id, segment.segment_index)
    if known_gains is not None and key in known_gains:
        tracks = apply_gains_db(segment.tracks, known_gains[key])
    else:
        tracks, gains_db = level_tracks(segment.tracks, config.sample_rate, config.levelling,
                                        config.levelling_lufs, config.slot_names)
        if known_gains is not None:
            known_gains[key] = gains_db
    return Segment(tracks, segment.target, segment.song_id, segment.segment_index, segment.metadata)


def cut_crop(segment: Segment, start: int, config: CropConfig, gains: np.ndarray | None = None) -> dict:
    """The crop whose input window starts at segment sample `start` (may be negative: silence before).

    Returns {"tracks": [slots, input_samples], "target": [2, output_samples]} float32 tensors, the
    target taken from `start + context`, with "song_id", "segment_index", "start". `gains`: linear
    per-slot gains applied to the tracks only.
    """
    tracks = padded_slice(segment.tracks, start, config.input_samples, np.float32)
    if gains is not None:
        tracks *= gains[:, None].astype(np.float32)
    target = padded_slice(segment.target, start + config.context, config.output_samples, np.float32)
    return {"tracks": torch.from_numpy(tracks), "target": torch.from_numpy(target),
            "song_id": segment.song_id, "segment_index": segment.segment_index, "start": int(start)}


def random_crops(segment: Segment, config: CropConfig, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """`crops_per_segment` (start, per-slot linear gain) pairs drawn from `rng`."""
    low, high = config.start_range(segment.length)
    starts = rng.integers(low, high + 1, size=config.crops_per_segment)
    gains_db = rng.uniform(-config.gain_db, config.gain_db, size=(config.crops_per_segment, len(config.slot_names)))
    return list(zip(starts.tolist(), 10.0 ** (gains_db / 20.0), strict=True))


def evenly_spaced_starts(length: int, config: CropConfig, count: int) -> list[int]:
    """`count` window starts spread evenly over a `length`-sample segment (one, centred, if count is 1)."""
    low, high = config.start_range(length)
    if count == 1 or high == low:
        return [(low + high) // 2]
    return sorted({int(round(start)) for start in np.linspace(low, high, count)})

