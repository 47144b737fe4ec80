"""Evaluation: a model and the baselines scored against reference mixes, per whole song.

`evaluate` mixes every song with `mix_tracks`, scores it and the baselines with `metrics.score`, and
returns a JSON-able dict (layout: docs/evaluation.md) that `results.format_table` prints and the card renders.

    result = evaluate(model, dataset_songs("org/drums", "test"), dataset="org/drums", split="test")
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from mixwave_hf import baselines, metrics
from mixwave_hf.audio import padded_slice, write_audio
from mixwave_hf.errors import InputError
from mixwave_hf.mixing import mix_tracks
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.results import MODEL_SYSTEM
from mixwave_hf.slots import match_slot


@dataclass
class EvaluationSong:
    """One whole song: tracks by their recorded names ([samples] mono) and the reference [2, samples]."""

    song_id: str
    tracks: dict[str, np.ndarray]
    reference: np.ndarray
    sample_rate: int
    metadata: dict = field(default_factory=dict)  # the dataset row's metadata (e.g. the synthetic render's)

    @property
    def tom_group(self) -> str | None:
        """How the song's toms are played, for songs of the synthetic corpus that say so (TOM_GROUPS):
        metadata["toms"] (session recipe), or metadata["stress"]["toms"] (the classic stress split)."""
        stress = self.metadata.get("stress")
        toms = self.metadata.get("toms") or (stress.get("toms") if isinstance(stress, dict) else None)
        return TOM_GROUPS.get(toms) if toms else None

    @property
    def perspective(self) -> str:
        """Whose view the reference mix pans from: metadata["perspective"] where the dataset says so,
        else "drummer" (the classic synthetic corpus)."""
        return self.metadata.get("perspective", "drummer")


#: Songs grouped by how their toms are played (the synthetic corpus's metadata).
TOM_GROUPS = {"never": "bleed-only toms (never played)", "barely": "toms barely played (1-2 strokes)",
              "normal": "toms played"}


def dataset_songs(path_or_repo_id: str, split: str = "test", target: str = "wet") -> Iterator[EvaluationSong]:
    """The songs of a dataset split, each reassembled from its segments in order.

    The split is opened at once: `schema.open_split` raises DatasetError naming a dataset that is missing,
    unreachable or holds a damaged shard, before any song is asked for. Rows are grouped by song id first
    (a song's segments may sit in different shards); songs without the `target` mix are skipped.
    """
    from mixwave_hf.data.schema import TARGETS, open_split

    if target not in TARGETS:
        raise InputError(f"target {target!r}; expected one of {list(TARGETS)}")
    return _songs(open_split(path_or_repo_id, split), str(path_or_repo_id), split, TARGETS[target])


def _songs(rows: Iterable[dict], name: str, split: str, column: str) -> Iterator[EvaluationSong]:
    """The songs of the rows of `split` of the dataset `name`; DatasetError naming the shard that cannot be read
    (`schema.damaged_shard`), or the song whose audio cannot be decoded."""
    from mixwave_hf.data.schema import DatasetError, damaged_shard, decode_audio

    rows_by_song: dict[str, list[dict]] = {}
    try:
        for row in rows:
            rows_by_song.setdefault(row["song_id"], []).append(row)
    except Exception as error:  # noqa: BLE001 - pyarrow's and datasets' errors for a damaged row group
        damage = damaged_shard(Path(name), split, whole=True) if Path(name).is_dir() else None
        raise DatasetError(damage or f"{name} split {split!r}: cannot be read ({type(error).__name__}: {error})"
                           ) from error
    for song_id in sorted(rows_by_song):
        rows = sorted(rows_by_song[song_id], key=lambda row: row["segment_index"])
        if any(row[column] is None for row in rows):
            continue
        names = rows[0]["track_names"]
        try:
            tracks = {track: np.concatenate([decode_audio(row["tracks"][index])[0].mean(axis=0) for row in rows])
                      for index, track in enumerate(names)}
            reference = np.concatenate([decode_audio(row[column])[0] for row in rows], axis=-1)
        except (RuntimeError, OSError, TypeError, ValueError) as error:  # soundfile's LibsndfileError, no bytes
            raise DatasetError(f"{name} split {split!r}: song {song_id}: its audio cannot be decoded ({error}); the "
                               "dataset is damaged: build it again (or download it again)") from error
        yield EvaluationSong(song_id, tracks, reference, int(rows[0]["sample_rate"]), _metadata(rows[0]))


def _metadata(row: dict) -> dict:
    """A row's metadata column (a JSON string) as a dict; {} when absent or not JSON."""
    try:
        metadata = json.loads(row.get("metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def score_song(model: MixWaveUNet, song: EvaluationSong, device: str | None = None, intensity: float = 1.0,
               perspective: str | None = None) -> tuple[dict, dict]:
    """({system: {metric: value}}, {system: [2, samples] mix}) for the model (mixed at processing
    `intensity`, see `mix_tracks`) and every baseline, panned from `perspective` (default: the song's)."""
    perspective = perspective or song.perspective
    slot_tracks = {name: audio for name, audio in song.tracks.items() if match_slot(name, model.slot_names)}
    length = song.reference.shape[-1]
    mixed = mix_tracks(model, slot_tracks, song.sample_rate, device=device, intensity=intensity,
                       perspective=perspective)
    mixes = {MODEL_SYSTEM: padded_slice(mixed.audio, 0, length)}
    for name, baseline in baselines.BASELINES.items():
        reference = song.reference if baseline.needs_reference else None
        mixes[name] = padded_slice(baseline.mix(slot_tracks, song.sample_rate, reference, perspective), 0, length)
    scores = {name: metrics.score(mix, song.reference, song.sample_rate) for name, mix in mixes.items()}
    return scores, mixes


def evaluate(model: MixWaveUNet, songs: Iterable[EvaluationSong], *, dataset: str = "", split: str = "",
             target: str = "", command: str = "", examples: int = 0, examples_dir: str | Path | None = None,
             device: str | None = None, total: int | None = None, intensity: float = 1.0,
             perspective: str | None = None) -> dict:
    """Score `model` (mixed at processing `intensity`, recorded in the result) and the baselines on
    every song, panned from `perspective` (default: each song's, `EvaluationSong.perspective`); returns
    the evaluation dict (JSON-able). Songs are also summarised in groups: by how their toms are
    played, and by kit where the songs play more than one.

    The first `examples` songs' mixes are written to `examples_dir` as float WAVs.
    """
    per_song: dict[str, dict[str, dict[str, float]]] = {}
    groups: dict[str, list[str]] = {}
    kits: dict[str, list[str]] = {}
    perspectives = set()
    for index, song in enumerate(tqdm(songs, total=total, unit="song", desc="evaluating")):
        scores, mixes = score_song(model, song, device, intensity, perspective)
        per_song[song.song_id] = scores
        perspectives.add(perspective or song.perspective)
        if song.tom_group is not None:
            groups.setdefault(song.tom_group, []).append(song.song_id)
        if song.metadata.get("kit"):
            kits.setdefault(f"kit {song.metadata['kit']}", []).append(song.song_id)
        if index < examples and examples_dir is not None:
            for name, mix in {**mixes, "reference": song.reference}.items():
                write_audio(Path(examples_dir) / song.song_id.replace("/", "_") / f"{name}.wav", mix, song.sample_rate)
    if not per_song:
        raise InputError(f"no songs to evaluate in {dataset or 'the input'} (split {split!r}, target {target!r})")
    if len(kits) > 1:
        groups.update(kits)
    systems = {MODEL_SYSTEM: {"label": "model", "loudness_oracle": False, "description": ""}}
    for name, baseline in baselines.BASELINES.items():
        systems[name] = {"label": baseline.label, "loudness_oracle": baseline.loudness_oracle,
                         "description": baseline.description}
    for name, system in systems.items():
        system["per_song"] = {song_id: scores[name] for song_id, scores in per_song.items()}
        system["summary"] = summarise(system["per_song"].values())
    group_summaries = {group: {"songs": song_ids,
                               "summary": {name: summarise(per_song[song_id][name] for song_id in song_ids)
                                           for name in systems}}
                       for group, song_ids in sorted(groups.items())}
    return {
        "dataset": dataset, "split": split, "target": target, "songs": len(per_song), "command": command,
        "intensity": intensity, "perspective": " / ".join(sorted(perspectives)),
        "metrics": {name: {"unit": info.unit, "lower_is_better": info.lower_is_better,
                           "uses_loudness": info.uses_loudness, "description": info.description}
                    for name, info in metrics.METRICS.items()},
        "systems": systems,
        "groups": group_summaries,
    }


def summarise(song_scores: Iterable[dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """Per metric: median, first and third quartile over songs (NaN scores left out; None if none)."""
    values: dict[str, list[float]] = {}
    for scores in song_scores:
        for name, value in scores.items():
            values.setdefault(name, [])
            if value is not None and math.isfinite(value):
                values[name].append(value)
    summary = {}
    for name, finite in values.items():
        if finite:
            q1, median, q3 = np.percentile(finite, [25, 50, 75])
            summary[name] = {"median": float(median), "q1": float(q1), "q3": float(q3), "songs": len(finite)}
        else:
            summary[name] = {"median": None, "q1": None, "q3": None, "songs": 0}
    return summary
