"""The web demo (Gradio): upload drum stems, check which slot each file feeds, get the model's mix.

`build_demo(model)` makes the `gr.Blocks`; `launch_demo(demo)` serves it with the upload limits
(`Limits`). Entry points: `mixwave demo` and `app.py` (the Space). What it shows: docs/demo.md.

    launch_demo(build_demo(load_demo_model(None)), server_name="127.0.0.1", server_port=7860)
"""

from __future__ import annotations

import html
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import soundfile
from gradio.utils import get_upload_folder

from mixwave_hf.audio import AUDIO_EXTENSIONS, AudioError, gain_and_pan, read_tracks, write_audio
from mixwave_hf.baselines import plain_sum
from mixwave_hf.metrics import loudness_level
from mixwave_hf.mixing import MAX_TRIM_DB, MixResult, mix_tracks, warnings_beyond_reading
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.resources import example_stems
from mixwave_hf.slots import (
    OVERHEAD_PAIR,
    OVERHEAD_PAIR_SLOTS,
    accepted_names,
    assign_slots,
    check_overhead_pair,
    fed_slots,
    resolve_slot_name,
)

#: Longest accepted track, in seconds.
MAX_SECONDS = 600.0
#: Largest accepted upload, in MiB (also enforced by the server while uploading). MiB, not 10^6 bytes:
#: the browser's "file too large" message divides by 1024² (and calls it "Mb"), so both say 200.
MAX_FILE_MIB = 200
MIB = 2**20
#: Most files in one request.
MAX_FILES = 16
#: Requests waiting in the queue before new ones are turned away; one mix runs at a time.
QUEUE_SIZE = 8
#: Seconds of audio each track is mixed alone over for the levels plot.
LEVELS_EXCERPT_SECONDS = 10.0
#: Temporary files (uploads, mixes, plots) are deleted this many seconds after they were made.
CACHE_SECONDS = 3600
#: The slot menus' entry for "no file", and how many menus share a row.
EMPTY = "(empty)"
SLOT_MENUS_PER_ROW = 3
#: Trim sliders per row, and their step (dB).
TRIM_SLIDERS_PER_ROW = 4
TRIM_STEP_DB = 0.5
#: The page's own styles: a file name in a slot menu ends in "…" before the menu's arrow, not under it.
CSS = """
.slot-menu input { padding-right: 28px !important; text-overflow: ellipsis; }
"""
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


class DemoError(ValueError):
    """A problem with the user's uploads or choices; shown to the user as the request's error."""


@dataclass(frozen=True)
class Limits:
    """What one request may upload: `max_seconds` per track, `max_file_bytes` per file, `max_files` in all."""

    max_seconds: float = MAX_SECONDS
    max_file_bytes: int = MAX_FILE_MIB * MIB
    max_files: int = MAX_FILES

    def describe(self) -> str:
        return (f"up to {self.max_files} files, each at most {mebibytes(self.max_file_bytes)} and "
                f"{self.max_seconds / 60:g} minutes long")


def mebibytes(size: int) -> str:
    """A size in bytes as the page writes it, e.g. "200 MiB" (1 MiB = 1024² bytes, the browser's unit)."""
    return f"{size / MIB:.4g} MiB"


# ---- files and slots ------------------------------------------------------------------------------


def upload_names(paths: Sequence[str | Path] | None) -> dict[str, Path]:
    """Uploaded file paths by the name the user sees: the file name, with " (2)", ... for repeats."""
    names: dict[str, Path] = {}
    for path in paths or []:
        path = Path(path)
        name, count = path.name, 1
        while name in names:
            count += 1
            name = f"{path.name} ({count})"
        names[name] = path
    return names


def check_upload(name: str, path: Path, limits: Limits) -> soundfile._SoundFileInfo:
    """The file's `soundfile.info`; DemoError naming `name` when it is too large, unreadable, too long or
    has more than 2 channels."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise DemoError(f"{name}: {size / MIB:.1f} MiB; files of at most {mebibytes(limits.max_file_bytes)} "
                        "are accepted")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        reason = str(error).replace(str(path), name)  # libsndfile quotes the server's temporary path
        raise DemoError(f"{name}: cannot be read as audio ({reason}); expected a WAV, FLAC, AIFF, OGG or MP3 file "
                        "(extensions " + ", ".join(AUDIO_EXTENSIONS) + ")") from error
    if info.frames > limits.max_seconds * info.samplerate:
        raise DemoError(f"{name}: {info.frames / info.samplerate:.1f} s long; tracks of at most "
                        f"{limits.max_seconds:g} s ({limits.max_seconds / 60:g} min) are accepted")
    if info.channels > 2:
        raise DemoError(f"{name}: {info.channels} channels; expected mono, or stereo for the overhead pair")
    return info


def check_file_count(names: dict[str, Path], limits: Limits) -> None:
    if len(names) > limits.max_files:
        raise DemoError(f"{len(names)} files uploaded; at most {limits.max_files} are accepted in one mix")


def upload_note(names: dict[str, Path], slot_names: Sequence[str], limits: Limits) -> tuple[dict[str, str], str]:
    """The automatic assignment of the uploads ({slot: name}) and a Markdown note on what was left out
    or will not be accepted."""
    if not names:
        return {}, f"Upload your drum tracks ({limits.describe()}), or pick the example below."
    assigned, unmatched, slot_notes = assign_slots(list(names), slot_names, strict=False)
    notes = [f"{len(assigned)} of {len(names)} files assigned by name; check the slots below."]
    if unmatched:
        notes.append(f"**Left out, no slot matches the name:** {', '.join(unmatched)}. Pick a slot for a file "
                     f"by hand if it belongs to one (names such as {', '.join(accepted_names(slot_names))}).")
    if slot_notes:  # the primary mic per slot, as in the CLI: other mics and room mics are left out
        notes.append("**Check:** " + "; ".join(slot_notes) + ". Change the slots by hand to use a file left out.")
    if len(names) > limits.max_files:
        notes.append(f"**Too many files:** {len(names)}; at most {limits.max_files} are accepted.")
    empty = []
    for name, path in names.items():
        try:
            if check_upload(name, path, limits).frames == 0:
                empty.append(name)
        except DemoError as error:
            notes.append(f"**Cannot be used:** {error}")
    if empty:
        notes.append(f"**Empty (0 samples):** {', '.join(empty)}; an empty track adds silence.")
    return assigned, "\n\n".join(html.escape(note, quote=False) for note in notes)


def chosen_files(names: dict[str, Path], choices: dict[str, str | None], slot_names: Sequence[str],
                 limits: Limits) -> dict[str, Path]:
    """{slot: path} from the slot menus ({slot: file name or EMPTY}); DemoError on a name that was not
    uploaded, the overhead pair given twice, no slot filled, or an unusable file."""
    check_file_count(names, limits)
    assignment: dict[str, Path] = {}
    for slot, name in choices.items():
        if name in (None, "", EMPTY):
            continue
        if name not in names:
            raise DemoError(f"slot {slot}: {name!r} is not one of the uploaded files ({', '.join(names) or 'none'})")
        assignment[slot] = names[name]
    if not assignment:
        uploaded = ", ".join(names) if names else "none"
        raise DemoError(f"no file is assigned to a slot (uploaded: {uploaded}); name files after their slot "
                        f"({', '.join(accepted_names(slot_names))}) or pick them in the slot menus")
    try:
        check_overhead_pair({slot: path.name for slot, path in assignment.items()})
    except ValueError as error:
        raise DemoError(str(error)) from error
    paths_named = {path: name for name, path in names.items()}
    for path in set(assignment.values()):
        check_upload(paths_named[path], path, limits)
    return assignment


# ---- mixing ---------------------------------------------------------------------------------------


@dataclass
class DemoMix:
    """One request's results: the WAV files written in its folder and what the plots show."""

    mix_path: Path
    plain_sum_path: Path
    mix: np.ndarray  # [2, samples] float32, the model's mix
    plain_sum: np.ndarray  # [2, samples] float32, not clipped
    sample_rate: int
    levels: pd.DataFrame
    balance: pd.DataFrame
    report: str


def mix_uploads(model: MixWaveUNet, names: dict[str, Path], choices: dict[str, str | None], limits: Limits,
                work_dir: Path, progress: bool = False, trims: dict[str, float] | None = None,
                intensity: float = 1.0) -> DemoMix:
    """Mix the files chosen per slot with `mix_tracks` at `trims` ({slot: dB}) and `intensity`; write
    mix.wav and plain_sum.wav (32-bit float, at the inputs' rate) into `work_dir`. DemoError on anything
    the user can fix."""
    assignment = chosen_files(names, choices, model.slot_names, limits)
    display_names = {path: name for name, path in names.items()}
    try:
        tracks, sample_rate, read_warnings = read_tracks(assignment)
    except AudioError as error:
        raise DemoError(with_upload_names(str(error), display_names)) from error
    if not any(audio.shape[-1] for audio in tracks.values()):
        empty = ", ".join(sorted({display_names[path] for path in assignment.values()}))
        raise DemoError(f"nothing to mix: every chosen file is empty (0 samples): {empty}; upload tracks that "
                        "hold audio")
    try:
        result = mix_tracks(model, tracks, sample_rate, progress=progress, trims=trims, intensity=intensity)
    except ValueError as error:
        raise DemoError(with_upload_names(str(error), display_names)) from error
    summed = plain_sum(tracks, sample_rate)
    mix_path, plain_sum_path = work_dir / "mixwave_mix.wav", work_dir / "plain_sum.wav"
    write_audio(mix_path, result.audio, sample_rate, "float")
    write_audio(plain_sum_path, summed, sample_rate, "float")

    lines = [f"**Mixed** {len(assignment)} files: {describe_assignment(assignment, display_names, model)}.",
             f"{result.audio.shape[-1] / sample_rate:.2f} s at {sample_rate} Hz, 32-bit float WAV; mix peak "
             f"{peak_text(result.audio)}, plain sum peak {peak_text(summed)}.",
             f"Intensity {result.intensity:g}; trims: {trims_text(result.trims_db)}."]
    warnings = [with_upload_names(warning, display_names) for warning in read_warnings]
    warnings += warnings_beyond_reading(result, tracks)
    lines += [f"Note: {warning}" for warning in warnings]
    levels = track_levels(model, tracks, summed, sample_rate, result.trims_db, result.intensity)
    return DemoMix(mix_path, plain_sum_path, result.audio, summed, sample_rate, levels,
                   static_balance(model, result, tracks), "\n\n".join(html.escape(line, quote=False) for line in lines))


def trims_text(trims_db: dict[str, float]) -> str:
    """{slot: dB} as the report writes it, e.g. "snare +2.0 dB, kick -1.5 dB", or "none"."""
    return ", ".join(f"{slot} {value:+.1f} dB" for slot, value in trims_db.items() if value) or "none"


def static_balance(model: MixWaveUNet, result: MixResult, tracks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per slot fed a track: the levelling gain (models that level their inputs) and the trim applied
    before the network (dB), and the output layer's static gain (dB) and pan (-1 left .. +1 right;
    constant-power law) on that track: the balance heard at intensity 0, under the processing at 1."""
    gains = model.static_part_gains()
    order = accepted_names(model.slot_names)
    fed = {slot for name in tracks for slot in fed_slots(resolve_slot_name(name, model.slot_names))}
    rows = []
    for slot in sorted(fed, key=order.index):
        index = model.slot_names.index(slot)
        if model.outputs == 2:
            gain_db, pan = gain_and_pan(float(gains[0, index]), float(gains[1, index]))
        else:
            gain_db, pan = decibels(float(gains[:, index].abs().max())), None
        rows.append({
            "track": slot,
            "levelling (dB)": result.input_gains_db.get(slot),
            "trim (dB)": result.trims_db.get(slot, 0.0),
            "static gain (dB)": round(gain_db, 1) if math.isfinite(gain_db) else None,
            "static pan (L -1 .. R +1)": None if pan is None else round(pan, 2),
        })
    table = pd.DataFrame(rows)
    return table if getattr(model, "levelling", None) else table.drop(columns="levelling (dB)")


def with_upload_names(message: str, display_names: dict[Path, str]) -> str:
    """`message` with each uploaded file's server path replaced by the name the user uploaded it as."""
    for path, name in display_names.items():
        message = message.replace(str(path), name)
    return message


def peak_text(audio: np.ndarray) -> str:
    """The peak of [channels, samples] audio in dBFS, or "silence"."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return f"{decibels(peak):+.1f} dBFS" if peak > 0 else "silence"


def describe_assignment(assignment: dict[str, Path], display_names: dict[Path, str], model: MixWaveUNet) -> str:
    order = accepted_names(model.slot_names)
    return ", ".join(f"{slot} ← {display_names[assignment[slot]]}" for slot in sorted(assignment, key=order.index))


def decibels(amplitude: float) -> float:
    return 20 * math.log10(amplitude) if amplitude > 0 else -math.inf


def loudest_excerpt(audio: np.ndarray, sample_rate: int, seconds: float) -> slice:
    """The `seconds`-long slice of [channels, samples] audio holding the most energy (all of it if shorter)."""
    length = audio.shape[-1]
    window = int(seconds * sample_rate)
    if length <= window:
        return slice(0, length)
    block = max(1, sample_rate // 10)
    energy = np.square(audio[..., : length // block * block], dtype=np.float64).sum(axis=0)
    energy = energy.reshape(-1, block).sum(axis=1)
    blocks = window // block
    running = np.convolve(energy, np.ones(blocks), mode="valid")
    start = int(np.argmax(running)) * block
    return slice(start, start + window)


def track_levels(model: MixWaveUNet, tracks: dict[str, np.ndarray], summed: np.ndarray, sample_rate: int,
                 trims_db: dict[str, float] | None = None, intensity: float = 1.0) -> pd.DataFrame:
    """Per track (slot): loudness as uploaded and mixed alone by the model (LUFS; with its trim and at
    `intensity`), the change (dB) and the solo mix's balance (-1 left .. +1 right, by energy), over the
    plain sum's loudest excerpt."""
    excerpt = loudest_excerpt(summed, sample_rate, LEVELS_EXCERPT_SECONDS)
    rows = []
    order = accepted_names(model.slot_names)
    for slot in sorted(tracks, key=order.index):
        track = np.atleast_2d(tracks[slot])[:, excerpt]
        solo_trims = {each: trims_db[each] for each in fed_slots(slot) if (trims_db or {}).get(each)}
        solo = mix_tracks(model, {slot: track}, sample_rate, trims=solo_trims, intensity=intensity).audio
        before, after = loudness_level(track, sample_rate), loudness_level(solo, sample_rate)
        left, right = (float(np.square(channel, dtype=np.float64).sum()) for channel in solo[:2])
        rows.append({
            "track": slot,
            "as uploaded (LUFS)": round(before, 1),
            "mixed alone (LUFS)": round(after, 1),
            "change (dB)": round(after - before, 1) if math.isfinite(before) and math.isfinite(after) else None,
            "balance (L -1 .. R +1)": round((right - left) / (right + left), 2) if right + left > 0 else None,
        })
    return pd.DataFrame(rows)


# ---- plots ----------------------------------------------------------------------------------------


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


# ---- the app --------------------------------------------------------------------------------------


def load_demo_model(name: str | None) -> MixWaveUNet:
    """The model the demo mixes with: a directory or Hub repo id, or None for the embedded default."""
    try:
        return MixWaveUNet.from_pretrained(name)
    except Exception as error:  # noqa: BLE001 - any failure to load ends the app with its reason
        raise SystemExit(f"mixwave demo: cannot load the model {name or '(the embedded default)'}: "
                         f"{type(error).__name__}: {error}") from error


def request_folder() -> Path:
    """A fresh folder for one request's files, inside Gradio's cache so that `delete_cache` removes them."""
    root = Path(get_upload_folder())
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="mixwave-", dir=root))


def theme() -> gr.themes.Base:
    """Gradio's default look with the system's fonts: the page loads nothing from other sites."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "monospace"])


def build_demo(model: MixWaveUNet, limits: Limits = Limits(),
               model_name: str = "the embedded default model") -> gr.Blocks:
    """The demo's `gr.Blocks` (queue included), not launched; its API: `/assign` (files -> slot menus
    and a note) and `/mix` (files, one file name or EMPTY per slot menu, the intensity, one trim in dB per
    model slot -> players, download, report, plots, static balance, levels)."""
    slots = accepted_names(model.slot_names)
    model.eval()

    def assign(files: list[str] | None):
        names = upload_names(files)
        assigned, note = upload_note(names, model.slot_names, limits)
        choices = [EMPTY, *names]
        return [gr.Dropdown(choices=choices, value=assigned.get(slot, EMPTY)) for slot in slots] + [note]

    def mix(files: list[str] | None, *settings, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        choices, (intensity, *trims) = settings[: len(slots)], settings[len(slots) :]
        names = upload_names(files)
        try:
            result = mix_uploads(model, names, dict(zip(slots, choices, strict=True)), limits, request_folder(),
                                 progress=True, trims=dict(zip(model.slot_names, trims, strict=True)),
                                 intensity=intensity)
        except DemoError as error:
            raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from error
        peak = max(1.0, float(np.abs(result.plain_sum).max()))
        mix_image, sum_image = spectrogram_pair(result.mix, result.plain_sum, result.sample_rate)
        waveform_options = {"y_lim": [-peak, peak]}
        return (
            str(result.mix_path),
            str(result.mix_path),
            str(result.plain_sum_path),
            result.report,
            gr.LinePlot(waveform_points(result.mix, result.sample_rate), **waveform_options),
            gr.LinePlot(waveform_points(result.plain_sum, result.sample_rate), **waveform_options),
            mix_image,
            sum_image,
            result.balance,
            gr.BarPlot(result.levels, sort=list(result.levels["track"])),
            result.levels,
        )

    with gr.Blocks(title="Mix-Wave-U-Net drum mixing", analytics_enabled=False,
                   delete_cache=(CACHE_SECONDS // 2, CACHE_SECONDS)) as demo:
        gr.Markdown(
            "# Mix-Wave-U-Net: automatic drum mixing\n"
            "Upload separately recorded drum tracks (kick, snare, hi-hat, toms, overheads: WAV, FLAC, AIFF, OGG "
            f"or MP3; {limits.describe()}). Files are assigned to the model's inputs by name; check the slots, "
            "then press **Mix**. The model writes the stereo mix an engineer would make; the plain sum of the "
            f"tracks plays beside it for comparison. Model: {html.escape(model_name)}."
        )
        files = gr.File(label="Drum tracks", file_count="multiple", file_types=list(AUDIO_EXTENSIONS),
                        type="filepath", elem_id="stems")
        gr.Examples(examples=[[[str(path) for path in example_stems()]]], inputs=[files],
                    label="Example: a 4 s groove rendered on a sampled kit (8 tracks)", cache_examples=False)
        note = gr.Markdown(upload_note({}, model.slot_names, limits)[1], elem_id="assignment-note")
        with gr.Accordion("Slots: which file feeds which input", open=True):
            menus = []
            # A few menus per row, wide enough for a studio file name ("Overheads L.wav") beside the arrow.
            for first in range(0, len(slots), SLOT_MENUS_PER_ROW):
                with gr.Row():
                    for slot in slots[first : first + SLOT_MENUS_PER_ROW]:
                        pair = f"{slot} (stereo pair: {' + '.join(OVERHEAD_PAIR_SLOTS)})"
                        label = pair if slot == OVERHEAD_PAIR else slot
                        menus.append(gr.Dropdown(choices=[EMPTY], value=EMPTY, label=label, min_width=240,
                                                 elem_id=f"slot-{slot}", elem_classes="slot-menu"))
        with gr.Accordion("Controls: intensity and a trim per track (press Mix again to re-mix)", open=True):
            intensity = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Processing intensity: 0 = the model's "
                                  "static balance only, 1 = its full mix (EQ, compression, ambience)",
                                  elem_id="intensity")
            trim_sliders = []
            for first in range(0, len(model.slot_names), TRIM_SLIDERS_PER_ROW):
                with gr.Row():
                    for slot in model.slot_names[first : first + TRIM_SLIDERS_PER_ROW]:
                        trim_sliders.append(gr.Slider(-MAX_TRIM_DB, MAX_TRIM_DB, value=0.0, step=TRIM_STEP_DB,
                                                      label=f"{slot} trim (dB)", min_width=200,
                                                      elem_id=f"trim-{slot}"))
        mix_button = gr.Button("Mix", variant="primary", elem_id="mix-button")
        # The results stay hidden until the first mix: no empty players, boxes or placeholder tables.
        with gr.Column(visible=False, elem_id="results") as results:
            with gr.Row():
                mix_player = gr.Audio(label="Model mix", type="filepath", format="wav", interactive=False,
                                      elem_id="mix-player")
                plain_player = gr.Audio(label="Plain sum (A/B: the tracks as uploaded, overheads hard left/right)",
                                        type="filepath", format="wav", interactive=False)
            download = gr.File(label="Download the mix (32-bit float WAV at the inputs' sample rate, not "
                               "normalised)", interactive=False, elem_id="mix-download", height=80)
            report = gr.Markdown(elem_id="mix-report")
            with gr.Row():
                waveform_mix = gr.LinePlot(x="time (s)", y="amplitude", label="Model mix: waveform", height=220,
                                           min_width=400)
                waveform_sum = gr.LinePlot(x="time (s)", y="amplitude", label="Plain sum: waveform", height=220,
                                           min_width=400)
            with gr.Row():
                spectrogram_mix = gr.Image(label="Model mix: spectrogram", format="png", interactive=False,
                                           min_width=480, elem_id="spectrogram-mix")
                spectrogram_sum = gr.Image(label="Plain sum: spectrogram (same colour scale)", format="png",
                                           interactive=False, min_width=480, elem_id="spectrogram-sum")
            gr.Markdown(
                "**Static balance.** The gain and pan the model's output layer gives each levelled, trimmed "
                "track directly (its weights on the input tracks): exactly what you hear at intensity 0. "
                "At intensity 1 the network's processing (EQ, compression, ambience) is added on top."
            )
            balance_table = gr.Dataframe(label="Static balance", interactive=False, wrap=True,
                                         elem_id="balance-table")
            gr.Markdown(
                "**Levels.** Each track as uploaded (its level in the plain sum) and mixed alone by the model, "
                f"over the loudest {LEVELS_EXCERPT_SECONDS:g} s: the change is the gain the model gave it, the "
                "balance where it panned it. With all tracks playing, compression and masking change this a little."
            )
            # One above the other, each the page's width: every column of the table and every bar's name shows.
            levels_plot = gr.BarPlot(x="track", y="change (dB)", label="Level change by the model (dB)", height=260,
                                     elem_id="levels-plot")
            levels_table = gr.Dataframe(label="Levels", interactive=False, wrap=True, elem_id="levels-table")

        files.change(assign, inputs=[files], outputs=[*menus, note], api_name="assign")
        mix_button.click(
            mix, inputs=[files, *menus, intensity, *trim_sliders],
            outputs=[mix_player, download, plain_player, report, waveform_mix, waveform_sum, spectrogram_mix,
                     spectrogram_sum, balance_table, levels_plot, levels_table],
            api_name="mix", concurrency_limit=1,
        ).success(lambda: gr.Column(visible=True), outputs=[results], api_visibility="private")
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


def launch_options(limits: Limits = Limits()) -> dict:
    """Keyword arguments of `demo.launch`: upload size limit, the example's folder, the theme and styles.

    The server's name and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio reads them).
    """
    from mixwave_hf.resources import EXAMPLE_DIR

    return {"max_file_size": limits.max_file_bytes, "allowed_paths": [str(EXAMPLE_DIR)], "theme": theme(),
            "css": CSS, "show_error": True}


def launch_demo(demo: gr.Blocks, limits: Limits = Limits(), **options) -> None:
    """Serve `demo` (prints its URL); `options` go to `demo.launch` over `launch_options`."""
    demo.launch(**{**launch_options(limits), **options})
