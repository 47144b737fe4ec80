"""A close mic's own strokes told from the bleed of the other drums, for "bleed_aware" levelling
(`loudness.level_tracks`). Arrays are [mics, samples] float at one rate; no decision depends on a mic's gain.

    found = own_strokes(close_mics, 44100, ["kick", "snare", "hihat", "tom_1", "tom_2", "tom_3"])
    found[4].verdict, found[4].onsets   # tom_2: "played" / "bleed_only" / "unsure", its strokes (samples)

A close mic hears its own drum a few cm away and the others tens of cm away, so an own stroke is the
mic's loudest event *relative to every other mic* and reaches the other mics later. Each mic's loudest
transients are compared with every other close mic: by level (against what the other mic's own strokes
look like) and by delay (GCC-PHAT). The reasoning and the measured accuracy: README.md, "Levelled inputs".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.ndimage import maximum_filter1d

#: Candidate events: at most this many of each mic's loudest transients per 30 s of audio.
EVENTS_PER_30_S = 64
#: Envelope frames (s); a transient rises at least RISE_DB over the mean power of the preceding
#: RISE_LOOKBACK_S; of transients closer than EVENT_SPACING_S the steepest is kept.
FRAME_S = 0.003
RISE_LOOKBACK_S = 0.03
EVENT_SPACING_S = 0.02
RISE_DB = 6.0
#: Each event is looked at from this long before its onset to this long after it (s), in every close mic.
WINDOW_BEFORE_S = 0.005
WINDOW_AFTER_S = 0.035
#: GCC-PHAT: delays searched (s) and the band (Hz) whose phases are compared.
MIN_DELAY_S = 0.00015
MAX_DELAY_S = 0.006
GCC_BAND_HZ = (150.0, 6000.0)
#: Level bands (Hz): kick and toms are compared below LOW_BAND_HZ[1], a drum's body; others on the whole band.
LOW_BAND_HZ = (30.0, 500.0)
#: An own stroke (`_verdict`): DOMINANCE_DB louder against every other close mic than that mic's
#: REFERENCE_PERCENTILE-th percentile over all events (the other mic's own strokes: the events it hears
#: loudest relatively); led by no close mic with a GCC peak of LEADING_PEAK or more, unless
#: STRONG_DOMINANCE_DB louder (a close mic further from its drum than a neighbour is); heard later by some
#: close mic with a peak of COHERENT_PEAK or more (a drum reaches its neighbours coherently, a cymbal does
#: not; not asked of the kick, whose mic sits inside the shell); for kick and toms, LOW_SHARE of its
#: energy below LOW_SHARE_HZ (a crash heard by a tom mic has little body); rising OWN_RISE_DB over what
#: precedes it (`detected_onsets`; a drum's decay swelling again is no new stroke).
DOMINANCE_DB = 3.0
STRONG_DOMINANCE_DB = 6.0
REFERENCE_PERCENTILE = 5.0
COHERENT_PEAK = 0.4
LEADING_PEAK = 0.5
LOW_SHARE = 0.3
LOW_SHARE_HZ = 400.0
OWN_RISE_DB = 3.0
#: A mic with no own stroke is bleed-only unless some event of it (with body, for kick and toms) is
#: UNSURE_DOMINANCE_DB louder as above and rises UNSURE_RISE_DB over what precedes it (in its role's band):
#: such a mic is "unsure", levelled as before. A room's late echo of a stroke rises little.
UNSURE_DOMINANCE_DB = 5.0
UNSURE_RISE_DB = 4.0
#: Only toms are ever found bleed-only: a kick, snare or hi-hat is played in any song, and where its mic
#: stands far from its drum (the session stress split: close mics 20-35 cm out, the kick's 35-60 cm
#: outside the shell) its strokes can stand only ~2 dB above the other mics' reference.
BLEED_ONLY_ROLES = ("tom",)
#: The rise: band energy over RISE_AFTER_S after the onset against RISE_BEFORE_S (start, end) before it.
RISE_AFTER_S = 0.04
RISE_BEFORE_S = (0.05, 0.005)
#: Roles of close mics by slot name: "kick" and "tom" (body required, compared in the low band), "cymbal"
#: (no coherence or lead asked: a cymbal reaches other mics incoherently), else "drum" (snare, ...).
KICK_PREFIXES = ("kick", "bass_drum", "bd")
TOM_PREFIXES = ("tom", "floor")
CYMBAL_PREFIXES = ("hihat", "hi_hat", "hi-hat", "ride", "crash", "cymbal")
EVENT_BLOCK = 128  # events transformed at once (bounds memory on long songs)


@dataclass(frozen=True)
class MicStrokes:
    """One close mic's verdict: "played" (`onsets`: its own strokes, samples), "bleed_only" (a tom with no
    stroke of its own; `onsets` empty), or "unsure" (no own stroke found, but some event might be one, or
    the mic is no tom, or there was nothing to compare with)."""

    verdict: str
    onsets: np.ndarray


def mic_role(slot_name: str) -> str:
    """"kick", "tom", "cymbal" or "drum" for a close mic's slot name (KICK_PREFIXES, TOM_PREFIXES, CYMBAL_PREFIXES)."""
    name = slot_name.lower()
    for role, prefixes in (("kick", KICK_PREFIXES), ("tom", TOM_PREFIXES), ("cymbal", CYMBAL_PREFIXES)):
        if name.startswith(prefixes):
            return role
    return "drum"


def candidate_onsets(track: np.ndarray, sample_rate: int) -> np.ndarray:
    """Onsets (samples, sorted) of a [samples] track's loudest transients: envelope frames that rise at
    least RISE_DB over the preceding RISE_LOOKBACK_S, the steepest within EVENT_SPACING_S,
    the loudest (their peak over the next RISE_LOOKBACK_S) EVENTS_PER_30_S per 30 s."""
    return detected_onsets(track, sample_rate)[0]


def detected_onsets(track: np.ndarray, sample_rate: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(`candidate_onsets`, their rises: ([events] dB below LOW_SHARE_HZ, [events] dB over the whole band)) of a
    [samples] track: how much its energy over RISE_AFTER_S after each onset exceeds that over RISE_BEFORE_S
    before it. `OnsetDetector` fed the whole track."""
    detector = OnsetDetector(sample_rate)
    detector.push(track)
    return detector.finish()


def frame_hop(sample_rate: int) -> int:
    """Samples per envelope frame (FRAME_S)."""
    return max(1, round(FRAME_S * sample_rate))


def _frame_powers(track: np.ndarray, hop: int) -> np.ndarray:
    """[len(track) // hop] float64: the mean square of each `hop`-sample frame of a [samples] track."""
    frames = len(track) // hop
    return np.square(np.asarray(track[: frames * hop], np.float64)).reshape(frames, hop).mean(axis=1)


def _low_pass(sample_rate: int) -> np.ndarray:
    """The LOW_SHARE_HZ low-pass (second-order sections) that the rises' low band is measured through."""
    return signal.butter(4, LOW_SHARE_HZ, "lowpass", fs=sample_rate, output="sos")


class FramePowers:
    """The frame powers of a track over the whole band and below LOW_SHARE_HZ, over a stream: push [samples]
    blocks of any size; the frames each push completes, joined, equal those of the whole track, bit for bit."""

    def __init__(self, sample_rate: int) -> None:
        self.hop, self.low_pass = frame_hop(sample_rate), _low_pass(sample_rate)
        self.state = np.zeros((self.low_pass.shape[0], 2))
        self.rests = [np.zeros(0, np.float32), np.zeros(0)]  # each band's samples after its last whole frame

    def push(self, track: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """([frames] whole-band, [frames] low-band) powers of the frames the next [samples] complete."""
        if not len(track):
            return np.zeros(0), np.zeros(0)  # sosfilt would return zeroed states for no samples
        low_band, self.state = signal.sosfilt(self.low_pass, track, zi=self.state)
        powers = []
        for index, band in enumerate((np.asarray(track, np.float32), low_band)):
            band = np.concatenate([self.rests[index], band])
            frames = len(band) // self.hop
            powers.append(_frame_powers(band, self.hop))
            self.rests[index] = band[frames * self.hop :]
        return powers[0], powers[1]


class OnsetDetector:
    """`candidate_onsets` and their rises (`detected_onsets`) over a stream: push [samples] blocks of any size,
    then `finish()`; equal to them on the whole track, bit for bit. Each 30 s of frames is decided once the
    frames a little past it are in, so it holds one such stretch of frame powers (~0.4 MB), whatever the song's
    length, and the onsets found (EVENTS_PER_30_S per 30 s at most)."""

    def __init__(self, sample_rate: int) -> None:
        self.powers = FramePowers(sample_rate)
        hop = self.powers.hop
        self.span = max(1, round(RISE_LOOKBACK_S * sample_rate / hop))
        self.spacing = max(1, round(EVENT_SPACING_S * sample_rate / hop))
        self.after = max(1, round(RISE_AFTER_S * sample_rate / hop))
        self.before = tuple(round(seconds * sample_rate / hop) for seconds in RISE_BEFORE_S)
        self.per_chunk = round(30.0 * sample_rate / hop)
        # Frames a decision looks at on either side of its stretch: the filters' and the rises' reach.
        self.margin = max(self.span + self.spacing, self.after, self.before[0]) + 1
        self.start, self.decided = 0, 0  # the first frame held; the first frame not decided
        self.held = [np.zeros(0), np.zeros(0)]  # whole-band, low-band powers from frame `start`
        self.running = [np.zeros(1), np.zeros(1)]  # their running sums from the song's start, at frames start ..
        self.found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (onsets, low rise, whole rise)

    def push(self, track: np.ndarray) -> None:
        """Take the next [samples] of the track; decide the stretches of 30 s now followed by enough frames."""
        for band, new in enumerate(self.powers.push(track)):
            self.held[band] = np.concatenate([self.held[band], new])
            # One sequential sum over the song, as np.cumsum of all its frames forms it.
            self.running[band] = np.concatenate([self.running[band][:-1],
                                                 np.cumsum(np.concatenate([self.running[band][-1:], new]))])
        end = self.start + len(self.held[0])
        while self.decided + self.per_chunk + self.margin <= end:
            self._decide(self.decided + self.per_chunk, total=None)
        keep_from = max(0, self.decided - self.margin - 1)
        if keep_from > self.start:
            drop = keep_from - self.start
            self.held = [band[drop:] for band in self.held]
            self.running = [band[drop:] for band in self.running]
            self.start = keep_from

    def finish(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """(onsets [events] samples, sorted; (low-band rises, whole-band rises) [events] dB) of the whole track."""
        total = self.start + len(self.held[0])
        if total >= 2:
            while self.decided < total:
                self._decide(min(self.decided + self.per_chunk, total), total)
        onsets, low, whole = (np.concatenate([part[index] for part in self.found]) if self.found else np.zeros(0)
                              for index in range(3))
        return onsets.astype(np.int64) * self.powers.hop, (low, whole)

    def _decide(self, stop: int, total: int | None) -> None:
        """Find the onsets of frames `decided` .. `stop` and their rises; `total`: the song's frames, once known."""
        power, running, start = self.held[0], self.running[0], self.start
        frames = start + np.arange(len(power))
        envelope = 10 * np.log10(power + 1e-30)
        # Against the mean power of the preceding frames, not their least: one frame of a decay can dip deep
        # (two paths cancelling) and make the next look like a new stroke.
        first = np.maximum(frames - self.span, 0)
        preceding = (running[frames - start] - running[np.maximum(first - start, 0)]) / np.maximum(frames - first, 1)
        rise = envelope - 10 * np.log10(preceding + 1e-30)
        if start == 0:
            rise[0] = 0.0
        local = np.arange(self.decided - start, stop - start)
        steepest = rise == maximum_filter1d(rise, 2 * self.spacing + 1, mode="nearest")
        onsets = local[steepest[local] & (rise[local] > RISE_DB) & (power[local] > 0)]
        span = self.span
        peak = maximum_filter1d(envelope, span, origin=-((span - 1) // 2) - (span % 2 == 0), mode="nearest")[onsets]
        onsets = np.sort(onsets[np.argsort(-peak, kind="stable")[:EVENTS_PER_30_S]])
        self.found.append((onsets + start, *self._rises(onsets, total)))
        self.decided = stop

    def _rises(self, onsets: np.ndarray, total: int | None) -> tuple[np.ndarray, np.ndarray]:
        """([events] low-band, [events] whole-band rises, dB) at held frames `onsets`."""
        last_index = (self.start + len(self.held[0]) if total is None else total) - self.start
        edges = (onsets, onsets + self.after, onsets - self.before[0], onsets - self.before[1])
        spans = [np.clip(edge, -self.start, last_index) for edge in edges]  # the song's frames 0 .. total
        rises = []
        for running in (self.running[1], self.running[0]):
            now, before = ((running[stop] - running[begin]) / np.maximum(stop - begin, 1)
                           for begin, stop in (spans[:2], spans[2:]))
            rises.append(10 * np.log10((now + 1e-30) / (before + 1e-30)))
        return rises[0], rises[1]


def event_windows(mics: np.ndarray, onsets: np.ndarray, sample_rate: int, start: int = 0,
                  length: int | None = None) -> np.ndarray:
    """[mics, events, samples] float32: each event's window (WINDOW_BEFORE_S before its onset to WINDOW_AFTER_S
    after it) in every mic of [mics, n] audio that holds samples start .. start + n of a `length`-sample song
    (default: all of it); zeros outside the song. Every window must lie within the audio held or outside the song."""
    before, after = round(WINDOW_BEFORE_S * sample_rate), round(WINDOW_AFTER_S * sample_rate)
    length = mics.shape[1] if length is None else length
    positions = onsets[:, None] - before + np.arange(before + after)[None]
    inside = (positions >= 0) & (positions < length)
    return mics[:, np.clip(positions - start, 0, mics.shape[1] - 1)] * inside[None]


def event_nfft(sample_rate: int) -> int:
    """The FFT size of the event windows: a window and the longest delay searched, a power of 2."""
    window = round(WINDOW_BEFORE_S * sample_rate) + round(WINDOW_AFTER_S * sample_rate)
    return 1 << int(np.ceil(np.log2(window + round(MAX_DELAY_S * sample_rate) + 1)))


def window_features(windows: np.ndarray, owner: np.ndarray, sample_rate: int) -> tuple[np.ndarray, ...]:
    """From `event_windows` [mics, events, samples] and each event's owner mic [events]: ([mics, events] other
    mic leading, owner leading (`_gcc_peaks`), low-band dB, whole-band dB (`_band_levels`), [events] low share
    (`_low_share`)). Each event's features depend on its windows only."""
    nfft = event_nfft(sample_rate)
    tapered = windows * signal.windows.tukey(windows.shape[-1], 0.2)
    spectra = np.fft.rfft(tapered, nfft).astype(np.complex64)
    return (*_gcc_peaks(spectra, owner, sample_rate, nfft), *_band_levels(spectra, sample_rate, nfft),
            _low_share(spectra, owner, sample_rate, nfft))


def _gcc_peaks(spectra: np.ndarray, owner: np.ndarray, sample_rate: int, nfft: int) -> tuple[np.ndarray, ...]:
    """For each event of `spectra` [mics, events, bins] and its owner mic: ([mics, events] the GCC-PHAT
    peak with the other mic leading, the same with the owner leading); 0 for the owner itself."""
    freqs = np.fft.rfftfreq(nfft, 1 / sample_rate)
    band = (freqs >= GCC_BAND_HZ[0]) & (freqs <= GCC_BAND_HZ[1])
    own = spectra[owner, np.arange(len(owner))]
    cross = spectra[:, :, band] * np.conj(own[None, :, band])
    cross /= np.maximum(np.abs(cross), 1e-30)
    full = np.zeros(spectra.shape, np.complex64)
    full[:, :, band] = cross
    # Normalised so that a pure delay peaks at 1; positive lags: the other mic hears it later.
    correlation = np.fft.irfft(full, nfft) * (nfft / (2 * band.sum()))
    shortest, longest = max(1, round(MIN_DELAY_S * sample_rate)), round(MAX_DELAY_S * sample_rate)
    owner_leads = correlation[:, :, shortest : longest + 1].max(axis=-1)
    other_leads = correlation[:, :, nfft - longest : nfft - shortest + 1].max(axis=-1)
    owner_leads[owner, np.arange(len(owner))] = 0.0
    other_leads[owner, np.arange(len(owner))] = 0.0
    return other_leads, owner_leads


def _band_levels(spectra: np.ndarray, sample_rate: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """([mics, events] dB in LOW_BAND_HZ, [mics, events] dB above LOW_BAND_HZ[0]) of each event's window."""
    freqs = np.fft.rfftfreq(nfft, 1 / sample_rate)
    power = np.square(np.abs(spectra), dtype=np.float64)
    low = power[..., (freqs >= LOW_BAND_HZ[0]) & (freqs < LOW_BAND_HZ[1])].sum(axis=-1)
    whole = power[..., freqs >= LOW_BAND_HZ[0]].sum(axis=-1)
    return 10 * np.log10(low + 1e-30), 10 * np.log10(whole + 1e-30)


def _low_share(spectra: np.ndarray, owner: np.ndarray, sample_rate: int, nfft: int) -> np.ndarray:
    """[events]: the share of each event's energy in its owner mic below LOW_SHARE_HZ."""
    freqs = np.fft.rfftfreq(nfft, 1 / sample_rate)
    power = np.square(np.abs(spectra[owner, np.arange(len(owner))]), dtype=np.float64)
    return power[:, freqs < LOW_SHARE_HZ].sum(axis=-1) / np.maximum(power.sum(axis=-1), 1e-30)


@dataclass(frozen=True)
class EventFeatures:
    """Every close mic's candidate events and what the other mics heard of them: `onsets` [events]
    (samples), `owner` [events] (the mic whose candidate it is); [mics, events]: `other_leads` and
    `owner_leads` (GCC-PHAT peaks, see `_gcc_peaks`), `low_db` and `whole_db` (window levels, dB);
    [events] in the owner mic: `low_share` (see `_low_share`), `low_rise` and `whole_rise` (see `detected_onsets`)."""

    onsets: np.ndarray
    owner: np.ndarray
    other_leads: np.ndarray
    owner_leads: np.ndarray
    low_db: np.ndarray
    whole_db: np.ndarray
    low_share: np.ndarray
    low_rise: np.ndarray
    whole_rise: np.ndarray


def event_features(mics: np.ndarray, sample_rate: int) -> EventFeatures:
    """The candidate events of every mic of [mics, samples] audio and their features, in blocks of EVENT_BLOCK."""
    detected = [detected_onsets(track, sample_rate) for track in mics]
    found = [onsets for onsets, _ in detected]
    onsets, owner = joined_events(found)
    parts = [window_features(event_windows(mics, onsets[start : start + EVENT_BLOCK], sample_rate),
                             owner[start : start + EVENT_BLOCK], sample_rate)
             for start in range(0, len(onsets), EVENT_BLOCK)]
    joined = [np.concatenate([part[index] for part in parts], axis=-1) for index in range(5)] if parts else None
    return assembled_features(onsets, owner, joined, [rises for _, rises in detected], len(mics))


def joined_events(found: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each mic's candidate onsets [events] -> (all of them, mic after mic; [events] the mic each is of)."""
    onsets = np.concatenate(found) if found else np.zeros(0, np.int64)
    owner = np.concatenate([np.full(len(each), index) for index, each in enumerate(found)]).astype(np.int64)
    return onsets, owner


def assembled_features(onsets: np.ndarray, owner: np.ndarray, joined: list[np.ndarray] | None,
                       rises: Sequence[tuple[np.ndarray, np.ndarray]], mics: int) -> EventFeatures:
    """`EventFeatures` from `joined_events`, the five `window_features` of all events in that order (None for
    no events) and each mic's rises at its own onsets (`detected_onsets`)."""
    if joined is None:
        empty = np.zeros((mics, 0))
        return EventFeatures(onsets, owner, empty, empty, empty, empty, *np.zeros((3, 0)))
    low_rise, whole_rise = (np.concatenate([rise[band] for rise in rises]) for band in (0, 1))
    return EventFeatures(onsets, owner, *joined, low_rise, whole_rise)


def dominance_db(levels: np.ndarray, mic: int, events: np.ndarray) -> np.ndarray:
    """[len(events)]: how much louder `mic` is at each event against every other mic of `levels` [mics,
    all events] (dB), over what it is at that mic's own strokes (REFERENCE_PERCENTILE of the level
    difference over all events); the least over the other mics. Gains cancel: only differences enter."""
    others = [index for index in range(levels.shape[0]) if index != mic]
    if not others or not levels.shape[1]:
        return np.full(len(events), np.inf)
    difference = levels[mic][None] - levels[others]
    reference = np.percentile(difference, REFERENCE_PERCENTILE, axis=1)
    return (difference[:, events] - reference[:, None]).min(axis=0)


def own_strokes(mics: np.ndarray, sample_rate: int, slot_names: Sequence[str]) -> list[MicStrokes]:
    """Each close mic's verdict (see `MicStrokes`) from [mics, samples] audio of the close mics only (no
    overheads or rooms, no silent tracks), named by `slot_names`. With fewer than two such mics nothing can
    be compared: every mic is "unsure"."""
    mics = np.asarray(mics, np.float32)
    if mics.ndim != 2 or len(slot_names) != mics.shape[0]:
        raise ValueError(f"close mics of shape {mics.shape} with {len(slot_names)} slot names; expected "
                         "[mics, samples] and one name per mic")
    if mics.shape[0] < 2:
        return [MicStrokes("unsure", np.zeros(0, np.int64)) for _ in slot_names]
    return verdicts(event_features(mics, sample_rate), slot_names)


def verdicts(features: EventFeatures, slot_names: Sequence[str]) -> list[MicStrokes]:
    """Each close mic's verdict from every close mic's `features` (`event_features`), the mics named by `slot_names`."""
    return [_verdict(features, index, mic_role(name)) for index, name in enumerate(slot_names)]


def _verdict(features: EventFeatures, mic: int, role: str) -> MicStrokes:
    """One mic's verdict from every mic's `features`, by the rules of DOMINANCE_DB ... UNSURE_RISE_DB."""
    events = np.flatnonzero(features.owner == mic)
    low = role in ("kick", "tom")
    dominance = dominance_db(features.low_db if low else features.whole_db, mic, events)
    body = features.low_share[events] >= LOW_SHARE if low else np.ones(len(events), bool)
    own = body & (dominance > DOMINANCE_DB)
    if role != "cymbal":
        led = features.other_leads[:, events].max(axis=0, initial=0.0) >= LEADING_PEAK
        own &= ~led | (dominance > STRONG_DOMINANCE_DB)
    if role in ("tom", "drum"):
        own &= features.owner_leads[:, events].max(axis=0, initial=0.0) >= COHERENT_PEAK
    rise = (features.low_rise if low else features.whole_rise)[events]
    own &= rise > OWN_RISE_DB
    if own.any():
        return MicStrokes("played", np.sort(features.onsets[events[own]]))
    unsure = body & (dominance > UNSURE_DOMINANCE_DB) & (rise > UNSURE_RISE_DB)
    bleed_only = role in BLEED_ONLY_ROLES and len(events) and not unsure.any()
    return MicStrokes("bleed_only" if bleed_only else "unsure", np.zeros(0, np.int64))


def stroke_regions(onsets: np.ndarray, length: int, window: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Boolean [stop - start] mask of samples start .. stop (default: the whole song, 0 .. length): those within
    the `window` samples after some onset (samples) within [0, length)."""
    stop = length if stop is None else stop
    marks = np.zeros(stop - start + 1, np.int32)
    onsets = np.asarray(onsets, np.int64)
    onsets = onsets[(onsets >= 0) & (onsets < length) & (onsets < stop) & (onsets + window > start)]
    np.add.at(marks, np.maximum(onsets, start) - start, 1)
    np.add.at(marks, np.minimum(np.minimum(onsets + window, length), stop) - start, -1)
    return np.cumsum(marks[: stop - start]) > 0
