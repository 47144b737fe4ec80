"""Dry renders: each drum piece's strokes as its own mono stem, sample-accurate, before any microphone.

Every stroke is a calibrated one-shot of the kit added at its onset sample; a new hi-hat stroke
chokes the one still sounding; a brush sweep lasts until the next. Brush strokes a kit does not
sample are made from its snare hit (docs/synthetic-corpus.md).

    stems = render_dry_pieces(kit_player("avl_black_pearl"), events, length)  # {piece: [samples] float32}
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from mixwave_hf.data.synth.grooves import HitEvent
from mixwave_hf.data.synth.kits import ARTICULATIONS, PIECES, KitPlayer

#: Pieces whose strokes cut the previous stroke's ring, and the fade (seconds) the cut takes.
CHOKED_PIECES = {"hihat": 0.012}
#: A brush sweep lasts until the next sweep stroke, but no longer than SWEEP_MAX_SECONDS (a bar at
#: 60 bpm) nor SWEEP_STRETCH times the gap before it (so the last sweep before a fill or a pause has
#: the length of the others instead of running on).
SWEEP_MAX_SECONDS = 4.0
SWEEP_STRETCH = 1.25
#: Peak (dBFS) of a velocity-100 sweep, sampled or approximated: 18 dB under a stick hit's
#: (kits.CALIBRATED_PEAK_DB), as a brush drawn across the head is far softer than one striking it.
SWEEP_PEAK_DB = -24.0
SWEEP_FADE_SECONDS = 0.02  # the fade of a sampled sweep where it is cut, and between its repeats
# An approximated sweep: noise with the spectrum of the hit's first SWEEP_COLOUR_SECONDS, high-passed
# (a sweep hardly moves the head: the drum's body barely sounds), under a swell-and-fade envelope.
SWEEP_COLOUR_SECONDS = 0.046
SWEEP_HIGHPASS_HZ = 500.0
SWEEP_ENVELOPE_TAPER = 0.8  # Tukey window: the first and last 40% of a sweep rise and fall
# An approximated tap: the hit smeared over the bristles' arrivals and damped (shorter body), plus a
# short burst of noise in the snare wires' band.
TAP_SMEAR_SECONDS = 0.003
TAP_BODY_DECAY_SECONDS = 0.05
TAP_NOISE_BAND_HZ = (1000.0, 8000.0)
TAP_NOISE_DB = -3.0  # the burst's peak against the damped hit's
TAP_NOISE_DECAY_SECONDS = 0.03


def render_dry_pieces(player: KitPlayer, events: list[HitEvent], length: int, seed: int = 0) -> dict[str, np.ndarray]:
    """{piece: [length] float32} for every piece of kits.PIECES (silent where it is not played).

    A stroke at `time` seconds starts at sample round(time * player.sample_rate); rings past `length`
    are cut off. `seed` (a non-negative integer, the song's) seeds the noise of brush strokes the kit
    does not sample, stroke by stroke; no other stroke uses it.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r}; expected a non-negative integer")
    sample_rate = player.sample_rate
    stems = {piece: np.zeros(length, np.float32) for piece in PIECES}
    onsets = [int(round(event.time * sample_rate)) for event in events]
    for piece in PIECES:
        strokes = [(onset, event) for onset, event in zip(onsets, events, strict=True) if event.piece == piece]
        sweeps = [(onset, event) for onset, event in strokes if event.articulation == "brush_sweep"]
        if sweeps:
            strokes = [(onset, event) for onset, event in strokes if event.articulation != "brush_sweep"]
            _add_sweeps(stems[piece], player, sweeps, int(seed))
        _add_strokes(stems[piece], player, strokes, CHOKED_PIECES.get(piece), int(seed))
    return stems


def _add_strokes(stem: np.ndarray, player: KitPlayer, strokes: list[tuple[int, HitEvent]],
                 fade_seconds: float | None, seed: int) -> None:
    """Add one-shots at their onsets; with `fade_seconds`, each stroke chokes the one before."""
    for index, (onset, event) in enumerate(strokes):
        if onset >= len(stem):
            continue
        shot = _stroke_shot(player, event, onset, seed)
        end = min(len(stem), onset + len(shot))
        if fade_seconds is not None and index + 1 < len(strokes):
            shot = _choked(shot, strokes[index + 1][0] - onset, int(fade_seconds * player.sample_rate))
            end = min(end, onset + len(shot))
        stem[onset:end] += shot[: end - onset]


def _stroke_shot(player: KitPlayer, event: HitEvent, onset: int, seed: int) -> np.ndarray:
    """The kit's one-shot of `event`, or an approximated brush tap where the kit samples none."""
    if event.articulation == "brush_tap" and not player.spec.has_note(event.piece, "brush_tap"):
        hit = player.one_shot(event.piece, ARTICULATIONS[event.piece][0], event.velocity)
        return approximate_brush_tap(hit, player.sample_rate, _stroke_rng(seed, onset))
    return player.one_shot(event.piece, event.articulation, event.velocity)


def _add_sweeps(stem: np.ndarray, player: KitPlayer, sweeps: list[tuple[int, HitEvent]], seed: int) -> None:
    """Add brush sweeps, each lasting until the next (at most SWEEP_MAX_SECONDS, SWEEP_STRETCH x the gap before)."""
    for index, (onset, event) in enumerate(sweeps):
        longest = SWEEP_MAX_SECONDS * player.sample_rate
        if index:
            longest = min(longest, SWEEP_STRETCH * (onset - sweeps[index - 1][0]))
        if index + 1 < len(sweeps):
            longest = min(longest, sweeps[index + 1][0] - onset)
        if onset >= len(stem) or longest < 1:
            continue
        sound = brush_sweep(player, event.piece, event.velocity, int(longest), _stroke_rng(seed, onset))
        end = min(len(stem), onset + len(sound))
        stem[onset:end] += sound[: end - onset]


def brush_sweep(player: KitPlayer, piece: str, velocity: int, samples: int,
                rng: np.random.Generator) -> np.ndarray:
    """[samples, or a fade longer] float32: a brush sweep on `piece` at MIDI `velocity` lasting `samples`.

    A velocity-100 sweep peaks at SWEEP_PEAK_DB. The kit's own sweep sample where it has one (cut to
    the sweep's length, or repeated evenly to fill it, fading between repeats), else noise coloured
    by the piece's hit (`approximate_brush_sweep`), following the kit's velocity response of the hit.
    """
    target = np.float32(10 ** (SWEEP_PEAK_DB / 20))
    if player.spec.has_note(piece, "brush_sweep"):
        gain = target / _peak(player.one_shot(piece, "brush_sweep", 100))
        shot = player.one_shot(piece, "brush_sweep", velocity)
        return (_looped(shot, samples, int(SWEEP_FADE_SECONDS * player.sample_rate)) * gain).astype(np.float32)
    main = ARTICULATIONS[piece][0]
    reference = player.one_shot(piece, main, 100)
    gain = target * _peak(player.one_shot(piece, main, velocity)) / _peak(reference)
    return (approximate_brush_sweep(reference, samples, player.sample_rate, rng) * gain).astype(np.float32)


def approximate_brush_sweep(hit: np.ndarray, samples: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """[samples] float32 peaking at 1: a brush sweep on a drum whose stick hit is `hit` ([n] float32).

    White noise from `rng`, coloured by the hit's first SWEEP_COLOUR_SECONDS (the head's and the
    wires' spectrum), high-passed at SWEEP_HIGHPASS_HZ (a sweep hardly moves the head, so the drum's
    body barely sounds), under a swell-and-fade envelope (the brush speeds up, glides, slows down).
    """
    kernel = hit[: max(1, int(SWEEP_COLOUR_SECONDS * sample_rate))]
    noise = rng.standard_normal(samples + len(kernel) - 1)
    coloured = signal.fftconvolve(noise, kernel, mode="valid")
    highpass = signal.butter(2, min(SWEEP_HIGHPASS_HZ, 0.4 * sample_rate), "highpass", fs=sample_rate, output="sos")
    sweep = signal.sosfilt(highpass, coloured) * signal.windows.tukey(samples, SWEEP_ENVELOPE_TAPER)
    return (sweep / max(_peak(sweep), 1e-12)).astype(np.float32)


def approximate_brush_tap(hit: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """[samples] float32 with `hit`'s peak: a brush tap on a drum whose stick hit at that velocity is `hit`.

    A brush lands as many bristles over a few ms and damps the head: the hit is smeared (convolved
    with TAP_SMEAR_SECONDS of decaying positive impulses from `rng`, which softens the stick's click)
    and rings shorter (a TAP_BODY_DECAY_SECONDS exponential decay); the wires and the bristles add a
    short burst of noise in TAP_NOISE_BAND_HZ, TAP_NOISE_DB under the damped hit's peak.
    """
    length = min(len(hit), int(10 * TAP_BODY_DECAY_SECONDS * sample_rate))  # the body is 87 dB down by then
    seconds = np.arange(length) / sample_rate
    taps = max(1, int(TAP_SMEAR_SECONDS * sample_rate))
    smear = np.abs(rng.standard_normal(taps)) * np.exp(-3.0 * np.arange(taps) / taps)
    body = signal.fftconvolve(hit[:length] * np.exp(-seconds / TAP_BODY_DECAY_SECONDS), smear / smear.sum())[:length]
    low, high = (min(edge, 0.45 * sample_rate) for edge in TAP_NOISE_BAND_HZ)
    band = signal.butter(2, (min(low, 0.5 * high), high), "bandpass", fs=sample_rate, output="sos")
    rise = np.minimum(1.0, seconds / 0.001)
    burst = signal.sosfilt(band, rng.standard_normal(length)) * rise * np.exp(-seconds / TAP_NOISE_DECAY_SECONDS)
    tap = body / max(_peak(body), 1e-12) + burst / max(_peak(burst), 1e-12) * 10 ** (TAP_NOISE_DB / 20)
    return (tap * (_peak(hit) / max(_peak(tap), 1e-12))).astype(np.float32)


def _looped(shot: np.ndarray, samples: int, fade: int) -> np.ndarray:
    """[samples + fade at most] float32: `shot` cut to `samples` with a fade, or repeated evenly to fill them.

    Each repeat is cut where the next begins (fading out over `fade` samples while the next fades in).
    """
    if not len(shot):
        return np.zeros(samples, np.float32)
    repeats = max(1, -(-samples // len(shot)))
    period = samples // repeats
    looped = np.zeros(samples + fade, np.float32)
    rise = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    for index in range(repeats):
        part = _choked(shot, period if index + 1 < repeats else samples - index * period, fade).copy()
        if index:
            part[: len(rise)] *= rise[: len(part)]
        looped[index * period : index * period + len(part)] += part
    return looped


def _stroke_rng(seed: int, onset: int) -> np.random.Generator:
    """The noise of one stroke: seeded by the song's seed and the stroke's onset sample."""
    return np.random.default_rng([seed, onset])


def _peak(audio: np.ndarray) -> float:
    return float(np.abs(audio).max()) if audio.size else 0.0


def _choked(shot: np.ndarray, cut: int, fade: int) -> np.ndarray:
    """`shot` faded out over `fade` samples from sample `cut` (a half-cosine), then silent."""
    if cut >= len(shot):
        return shot
    fade = min(fade, len(shot) - cut)
    ramp = (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade, dtype=np.float32))).astype(np.float32)
    choked = shot[: cut + fade].copy()
    choked[cut:] *= ramp
    return choked
