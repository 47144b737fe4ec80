"""What one press of Mix produces: the model's mix and the plain sum as WAV files, the report, the
static balance and the per-track levels.

    result = mix_uploads(model, upload_names(paths), {"kick": "kick.wav"}, Limits(), work_dir)
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mixwave_hf.audio import AudioError, gain_and_pan, read_audio, read_tracks, write_audio
from mixwave_hf.baselines import plain_sum
from mixwave_hf.demo.uploads import DemoError, Limits, chosen_files
from mixwave_hf.errors import MixwaveError
from mixwave_hf.file_mixing import mix_files
from mixwave_hf.metrics import loudness_level
from mixwave_hf.mixing import MixResult, mirrors_model, mix_tracks, overhead_swap
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.slots import accepted_names, fed_slots, resolve_slot_name

#: Seconds of audio each track is mixed alone over for the levels plot.
LEVELS_EXCERPT_SECONDS = 10.0


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
                intensity: float = 1.0, perspective: str | None = None) -> DemoMix:
    """Mix the files chosen per slot with `mix_files` (as `mixwave mix` does) at `trims` ({slot: dB}), `intensity`
    and `perspective` (None: the model's); write mix.wav and plain_sum.wav (32-bit float, at the inputs' rate) into
    `work_dir`. The uploads are also read whole, for the plots. DemoError on anything the user can fix."""
    assignment = chosen_files(names, choices, model.slot_names, limits)
    display_names = {path: name for name, path in names.items()}
    try:
        tracks, sample_rate, _ = read_tracks(assignment)  # for the plots; the mix reads the files itself
    except AudioError as error:
        raise DemoError(with_upload_names(str(error), display_names)) from error
    if not any(audio.shape[-1] for audio in tracks.values()):
        empty = ", ".join(sorted({display_names[path] for path in assignment.values()}))
        raise DemoError(f"nothing to mix: every chosen file is empty (0 samples): {empty}; upload tracks that "
                        "hold audio")
    mix_path, plain_sum_path = work_dir / "mixwave_mix.wav", work_dir / "plain_sum.wav"
    try:  # the mix as the command line makes it, file to file; read back for the plots
        mixed = mix_files(model, assignment, mix_path, progress=progress, trims=trims, intensity=intensity,
                          perspective=perspective)
    except MixwaveError as error:
        raise DemoError(with_upload_names(str(error), display_names)) from error
    result = replace(mixed, audio=read_audio(mix_path)[0])
    summed = plain_sum(tracks, sample_rate)
    write_audio(plain_sum_path, summed, sample_rate, "float")

    lines = [f"**Mixed** {len(assignment)} files: {describe_assignment(assignment, display_names, model)}.",
             f"{result.audio.shape[-1] / sample_rate:.2f} s at {sample_rate} Hz, 32-bit float WAV; mix peak "
             f"{peak_text(result.audio)}, plain sum peak {peak_text(summed)}.",
             f"Intensity {result.intensity:g}; trims: {trims_text(result.trims_db)}; {result.perspective}'s "
             "perspective."]
    lines += [f"Note: {with_upload_names(warning, display_names)}" for warning in result.warnings]
    levels = track_levels(model, tracks, summed, sample_rate, result.trims_db, result.intensity,
                          result.perspective)
    return DemoMix(mix_path, plain_sum_path, result.audio, summed, sample_rate, levels,
                   static_balance(model, result, tracks), "\n\n".join(html.escape(line, quote=False) for line in lines))


def trims_text(trims_db: dict[str, float]) -> str:
    """{slot: dB} as the report writes it, e.g. "snare +2.0 dB, kick -1.5 dB", or "none"."""
    return ", ".join(f"{slot} {value:+.1f} dB" for slot, value in trims_db.items() if value) or "none"


def static_balance(model: MixWaveUNet, result: MixResult, tracks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per slot fed a track: the levelling gain (models that level their inputs; "<dB>, bleed only" for a
    track found to hold only bleed, `MixResult.bleed_only`) and the trim applied before the network (dB),
    and the output layer's static gain (dB) and pan (-1 left .. +1 right; constant-power law) on that
    track: the balance heard at intensity 0, under the processing at 1; seen from the mix's perspective
    (the model's own, or its mirror: `mixing.mirrors_model`)."""
    gains = model.static_part_gains()
    if mirrors_model(model, result.perspective):
        gains = gains.flip(0)[:, overhead_swap(model.slot_names)]
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
            "levelling (dB)": levelling_cell(result, slot),
            "trim (dB)": result.trims_db.get(slot, 0.0),
            "static gain (dB)": round(gain_db, 1) if math.isfinite(gain_db) else None,
            "static pan (L -1 .. R +1)": None if pan is None else round(pan, 2),
        })
    table = pd.DataFrame(rows)
    return table if getattr(model, "levelling", None) else table.drop(columns="levelling (dB)")


def levelling_cell(result: MixResult, slot: str) -> float | str | None:
    """The static-balance table's levelling gain of `slot` (dB), noted "bleed only" for a track of bleed only."""
    gain = result.input_gains_db.get(slot)
    return f"{gain:+.1f}, bleed only" if gain is not None and slot in result.bleed_only else gain


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
                 trims_db: dict[str, float] | None = None, intensity: float = 1.0,
                 perspective: str | None = None) -> pd.DataFrame:
    """Per track (slot): loudness as uploaded and mixed alone by the model (LUFS; with its trim, at
    `intensity`, from `perspective`), the change (dB) and the solo mix's balance (-1 left .. +1 right, by
    energy), over the plain sum's loudest excerpt."""
    excerpt = loudest_excerpt(summed, sample_rate, LEVELS_EXCERPT_SECONDS)
    rows = []
    order = accepted_names(model.slot_names)
    for slot in sorted(tracks, key=order.index):
        track = np.atleast_2d(tracks[slot])[:, excerpt]
        solo_trims = {each: trims_db[each] for each in fed_slots(slot) if (trims_db or {}).get(each)}
        solo = mix_tracks(model, {slot: track}, sample_rate, trims=solo_trims, intensity=intensity,
                          perspective=perspective).audio
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

