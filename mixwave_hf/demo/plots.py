"""The demo's plots: waveform envelopes as line points, and spectrogram images with axes and a colour bar.

    mix_image, sum_image = spectrogram_pair(mix, summed, sample_rate)  # one colour scale for both
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Points across the waveform plots, and pixels of the spectrograms' plot area (width, height).
WAVEFORM_BINS = 800
SPECTROGRAM_SIZE = (560, 200)
SPECTROGRAM_RANGE_DB = 80.0
#: The spectrograms' lowest frequency (Hz), their frequency ticks, and the margins (pixels) that hold
#: the axes: left (frequency labels), bottom (time labels), right (colour bar), top (under the
#: label and buttons Gradio lays over the image).
SPECTROGRAM_LOW_HZ = 30.0
FREQUENCY_TICKS_HZ = (50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)
SPECTROGRAM_MARGINS = {"left": 64, "bottom": 44, "right": 84, "top": 40}
AXES_FONT_SIZE = 15
# A perceptual dark-to-light colour map (anchors of matplotlib's "magma"), interpolated linearly.
_COLOUR_ANCHORS = np.array([(0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)], float)


def waveform_points(audio: np.ndarray, sample_rate: int, bins: int = WAVEFORM_BINS) -> pd.DataFrame:
    """[channels, samples] -> the waveform's envelope as a line: per time bin, its maximum then its minimum
    over both channels, so the line zigzags over the area the waveform covers. Columns: time (s), amplitude."""
    length = audio.shape[-1]
    edges = np.linspace(0, length, min(bins, max(length, 1)) + 1).astype(int)
    edges = np.unique(edges)
    highs = np.maximum.reduceat(audio.max(axis=0), edges[:-1]) if length else np.zeros(0)
    lows = np.minimum.reduceat(audio.min(axis=0), edges[:-1]) if length else np.zeros(0)
    starts = edges[:-1] / sample_rate
    width = np.diff(edges) / sample_rate
    time = np.stack([starts, starts + width / 2]).T.ravel()
    amplitude = np.stack([highs, lows]).T.ravel()
    return pd.DataFrame({"time (s)": time, "amplitude": amplitude.astype(float)})


def spectrogram_image(audio: np.ndarray, sample_rate: int, reference_db: float,
                      size: tuple[int, int] = SPECTROGRAM_SIZE) -> np.ndarray:
    """[channels, samples] -> [height, width, 3] uint8 image of the channels' mean: time left to right,
    log frequency (SPECTROGRAM_LOW_HZ to Nyquist) bottom to top, SPECTROGRAM_RANGE_DB below `reference_db`
    black. No axes: `with_axes` adds them."""
    width, height = size
    magnitude_db = spectrogram_db(audio, width)
    fft_size = (magnitude_db.shape[0] - 1) * 2
    bin_hz = sample_rate / fft_size
    row_hz = np.geomspace(SPECTROGRAM_LOW_HZ, sample_rate / 2, height)
    rows = np.clip(np.round(row_hz / bin_hz).astype(int), 0, magnitude_db.shape[0] - 1)
    picture = magnitude_db[rows[::-1]]
    columns = np.linspace(0, magnitude_db.shape[1] - 1, width).round().astype(int)
    level = np.clip((picture[:, columns] - reference_db) / SPECTROGRAM_RANGE_DB + 1.0, 0.0, 1.0)
    return colour_map(level)


def colour_map(level: np.ndarray) -> np.ndarray:
    """Levels in [0, 1] (any shape) -> uint8 RGB colours (shape + [3]) on the dark-to-light map."""
    anchors = np.linspace(0.0, 1.0, len(_COLOUR_ANCHORS))
    colours = [np.interp(level, anchors, _COLOUR_ANCHORS[:, channel]) for channel in range(3)]
    return np.stack(colours, axis=-1).astype(np.uint8)


def with_axes(picture: np.ndarray, seconds: float, sample_rate: int) -> np.ndarray:
    """A `spectrogram_image` [height, width, 3] framed by axes: time (s) below, frequency (Hz, log) on the
    left, and a colour bar (dB below the reference) on the right; returns the larger uint8 image."""
    from PIL import Image, ImageDraw, ImageFont

    height, width = picture.shape[:2]
    margin = SPECTROGRAM_MARGINS
    canvas = Image.new("RGB", (margin["left"] + width + margin["right"], margin["top"] + height + margin["bottom"]),
                       "white")
    canvas.paste(Image.fromarray(picture), (margin["left"], margin["top"]))
    draw, font, ink = ImageDraw.Draw(canvas), ImageFont.load_default(size=AXES_FONT_SIZE), (60, 60, 60)
    left, top, bottom = margin["left"], margin["top"], margin["top"] + height
    draw.rectangle((left - 1, top - 1, left + width, bottom), outline=ink)

    nyquist = sample_rate / 2
    for hz in (tick for tick in FREQUENCY_TICKS_HZ if SPECTROGRAM_LOW_HZ < tick < nyquist):
        y = bottom - 1 - math.log(hz / SPECTROGRAM_LOW_HZ) / math.log(nyquist / SPECTROGRAM_LOW_HZ) * (height - 1)
        draw.line((left - 5, y, left - 1, y), fill=ink)
        draw.text((left - 8, y), f"{hz // 1000}k" if hz >= 1000 else str(hz), font=font, fill=ink, anchor="rm")
    step = time_tick_step(seconds)
    for index in range(int(seconds / step + 1e-9) + 1):
        x = left + index * step / max(seconds, 1e-9) * (width - 1)
        draw.line((x, bottom, x, bottom + 4), fill=ink)
        draw.text((x, bottom + 6), f"{index * step:g}", font=font, fill=ink, anchor="mt")
    draw.text((left + width / 2, bottom + margin["bottom"] - 4), "time (s)", font=font, fill=ink, anchor="md")
    label = Image.new("RGB", (height, AXES_FONT_SIZE + 4), "white")
    ImageDraw.Draw(label).text((height / 2, 0), "frequency (Hz)", font=font, fill=ink, anchor="mt")
    canvas.paste(label.rotate(90, expand=True), (2, top))

    bar_left = left + width + 12
    bar = colour_map(np.linspace(1.0, 0.0, height))[:, None, :].repeat(12, axis=1)
    canvas.paste(Image.fromarray(bar), (bar_left, top))
    draw.rectangle((bar_left - 1, top - 1, bar_left + 12, bottom), outline=ink)
    for decibel in range(0, -int(SPECTROGRAM_RANGE_DB) - 1, -20):
        y = top + (-decibel / SPECTROGRAM_RANGE_DB) * (height - 1)
        draw.text((bar_left + 16, y), f"{decibel} dB", font=font, fill=ink, anchor="lm")
    return np.asarray(canvas)


def time_tick_step(seconds: float, most_ticks: int = 10) -> float:
    """The smallest of 0.1, 0.2, 0.5, 1, 2, 5, 10, ... seconds that puts at most `most_ticks` ticks on `seconds`."""
    steps = (round(mantissa * 10.0**exponent, 1) for exponent in range(-1, 6) for mantissa in (1, 2, 5))
    return next((step for step in steps if seconds / step <= most_ticks), 10.0**6)


def spectrogram_db(audio: np.ndarray, frames: int, fft_size: int = 2048) -> np.ndarray:
    """[channels, samples] -> [fft_size // 2 + 1, up to `frames`] Hann-windowed STFT magnitudes (dB) of
    the channels' mean, at evenly spaced frames (the song's length does not change the work)."""
    mono = np.asarray(audio, np.float64).mean(axis=0)
    mono = np.pad(mono, (fft_size // 2, fft_size // 2 + max(0, fft_size - len(mono))))
    starts = np.linspace(0, len(mono) - fft_size, min(frames, len(mono) - fft_size + 1)).astype(int)
    segments = mono[starts[:, None] + np.arange(fft_size)] * np.hanning(fft_size)
    magnitude = np.abs(np.fft.rfft(segments, axis=-1)).T
    return 20 * np.log10(magnitude + 1e-10)


def spectrogram_pair(mix: np.ndarray, summed: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Spectrogram images, with axes, of the mix and the plain sum on one colour scale (the louder one's peak)."""
    reference = max(float(spectrogram_db(audio, SPECTROGRAM_SIZE[0]).max()) for audio in (mix, summed))
    seconds = mix.shape[-1] / sample_rate
    return tuple(with_axes(spectrogram_image(audio, sample_rate, reference), seconds, sample_rate)
                 for audio in (mix, summed))

