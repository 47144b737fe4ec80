"""Builders: multitrack collections (ENST-drums, a folder of songs, the synthetic renderer) -> a dataset.

Each builder yields (split, Song) pairs; `build_dataset` writes them as parquet shards with a dataset
card, into a new folder or beside the splits of a built one (format: docs/datasets.md).

    build_dataset(with_rows(folder_songs("sessions/")), "out/mine", folder_description("sessions/", "cc-by-4.0"))
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import soundfile
from tqdm.auto import tqdm

from mixwave_hf.audio import is_audio_file, read_audio, resample
from mixwave_hf.data.dataset_card import DatasetDescription, write_dataset_card
from mixwave_hf.data.schema import DATASET_SPLITS, SEGMENT_SECONDS, DatasetWriter, Song, song_rows
from mixwave_hf.errors import MixwaveError

SHARD_NAME = re.compile(r"(?P<split>[\w.]+?)-\d{5}-of-(?P<shards>\d{5})\.parquet")

ENST_TRACKS = ("hi-hat", "kick", "overhead_L", "overhead_R", "snare", "tom_1", "tom_2", "tom_3")
ENST_MIXES = ("dry_mix", "wet_mix")
SYNTH_ENGINEER = "mixwave-hf fixed engineer v1"  # the classic recipe's engineer
ENST_LICENSE = "other"  # ENST-drums: free for non-commercial research, on request from its authors


class BuildError(MixwaveError, ValueError):
    """A collection that cannot be built into a dataset; the message names the file or folder."""


def split_for(key: str, test_every: int = 10) -> str:
    """The split of a song or phrase, from a stable hash of `key`: about 1 in `test_every` goes to test,
    as many to validation, the rest to train."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % test_every
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def build_dataset(songs: Iterable[tuple[str, Iterable[dict]]], out: str | Path, description: DatasetDescription,
                  train_shards: int = 8, other_shards: int = 1, total: int | None = None,
                  splits: Sequence[str] = DATASET_SPLITS) -> dict:
    """Write songs, given as (split, rows) pairs (rows as made by `schema.song_rows`) of `splits`, into
    `out`: parquet shards and a README.md card. Returns the split summary (every split in `out`).

    `train_shards` should be a multiple of (training processes x loader workers): each reads whole
    shards. Nothing is overwritten: `out` must be new, empty, or a built dataset holding none of
    `splits`, whose splits the new ones join (the card is rewritten over all of them); a failed build
    removes its shards.
    """
    out = Path(out)
    existing = existing_splits(out, splits)
    shards = {split: train_shards if split == "train" else other_shards for split in splits}
    created = not out.exists()
    writer = DatasetWriter(out, shards)
    try:
        for split, rows in tqdm(songs, total=total, unit="song", desc=f"building {out.name}"):
            for row in rows:
                writer.write(split, row)
    except BaseException:
        writer.abort()
        if created:  # leave nothing behind, so the same command can simply be run again
            shutil.rmtree(out, ignore_errors=True)
        raise
    summary = {split: split_summary(out, split) for split in existing} | writer.close()
    summary = dict(sorted(summary.items(), key=lambda item: _split_order(item[0])))
    write_dataset_card(out, description, summary)
    return summary


def existing_splits(out: Path, splits: Sequence[str]) -> list[str]:
    """The splits already built in `out` (none for a new or empty folder); BuildError where `out` holds
    anything else than a finished dataset, or any of `splits`, or is a file."""
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out}: is a file; expected a new or empty folder, or a built dataset to add other splits "
                         "to (nothing is overwritten)")
    if not out.exists() or not any(out.iterdir()):
        return []
    shards = sorted((out / "data").glob("*.parquet")) if (out / "data").is_dir() else []
    if not (out / "README.md").is_file() or not shards:
        raise BuildError(f"{out}: not empty and not a built dataset (README.md and data/*.parquet); choose a "
                         "new output folder (nothing is overwritten)")
    partial = sorted(path.name for path in (out / "data").glob(".*.partial"))
    if partial:
        raise BuildError(f"{out}/data: unfinished shards {partial[:3]}; a build is under way or was interrupted")
    found = sorted({match["split"] for path in shards if (match := SHARD_NAME.fullmatch(path.name))},
                   key=_split_order)
    clash = [split for split in splits if split in found]
    if clash:
        raise BuildError(f"{out}: not empty, it already holds the splits {clash}; build only other splits into "
                         f"it (it holds {found}), or choose a new output folder (nothing is overwritten)")
    return found


def split_summary(out: Path, split: str) -> dict:
    """{rows, songs, hours, shards} of a split already written in `out`, read from its shards (the
    hours from the FLAC headers of the wet mixes, or of the first track where a row has none)."""
    import pyarrow.parquet as parquet

    paths = sorted((out / "data").glob(f"{split}-*-of-*.parquet"))
    rows, songs, seconds = 0, set(), 0.0
    for path in paths:
        shard = parquet.ParquetFile(path)
        for group in range(shard.num_row_groups):
            table = shard.read_row_group(group, columns=["song_id", "wet_mix"]).to_pylist()
            tracks = None
            for index, row in enumerate(table):
                if row["wet_mix"] is None and tracks is None:
                    tracks = shard.read_row_group(group, columns=["tracks"]).to_pylist()
                audio = row["wet_mix"] or tracks[index]["tracks"][0]
                seconds += soundfile.info(io.BytesIO(audio["bytes"])).duration
                songs.add(row["song_id"])
            rows += len(table)
    return {"rows": rows, "songs": len(songs), "hours": seconds / 3600, "shards": len(paths)}


def _split_order(split: str) -> tuple[int, str]:
    return (DATASET_SPLITS.index(split) if split in DATASET_SPLITS else len(DATASET_SPLITS), split)


def with_rows(songs: Iterable[tuple[str, Song]], segment_seconds: float = SEGMENT_SECONDS
              ) -> Iterator[tuple[str, Iterator[dict]]]:
    """(split, Song) -> (split, its segment rows), for `build_dataset`."""
    for split, song in songs:
        yield split, song_rows(song, segment_seconds)


# ---- ENST-drums ------------------------------------------------------------------------------------

def enst_phrase(name: str) -> str:
    """The phrase a recording plays, shared by every drummer: "013_phrase_rock_simple_slow_sticks" ->
    "phrase_rock_simple_slow_sticks" (the leading take number dropped)."""
    return re.sub(r"^\d+_", "", name)


def enst_songs(root: str | Path) -> Iterator[tuple[str, Song]]:
    """(split, Song) for every recording under ENST_ROOT/drummer_*/audio/<track>/<name>.wav.

    Tracks missing for a song are left out (tom_3 exists only for drummer 3); mixes are made stereo
    if stored mono. The split comes from the phrase (`enst_phrase`), so one phrase played by several
    drummers stays in one split.
    """
    root = Path(root)
    drummers = sorted(path for path in root.glob("drummer_*") if (path / "audio").is_dir())
    if not drummers:
        raise BuildError(f"{root}: no drummer_*/audio folders; expected the ENST-drums layout "
                         "drummer_{1,2,3}/audio/{hi-hat,kick,...,wet_mix}/<name>.wav")
    for drummer in drummers:
        audio = drummer / "audio"
        names = sorted({path.stem for path in (audio / "wet_mix").glob("*.wav")})
        for name in names:
            tracks, rates = {}, Counter()
            for track in ENST_TRACKS:
                path = audio / track / f"{name}.wav"
                if path.exists():
                    samples, rate = read_audio(path)
                    tracks[track] = samples.mean(axis=0)
                    rates[rate] += 1
            mixes = {}
            for mix in ENST_MIXES:
                path = audio / mix / f"{name}.wav"
                if path.exists():
                    samples, rate = read_audio(path)
                    mixes[mix] = np.repeat(samples, 2, axis=0) if samples.shape[0] == 1 else samples[:2]
                    rates[rate] += 1
            if not tracks:
                continue
            if len(rates) > 1:
                raise BuildError(f"{audio}/*/{name}.wav: files at different sample rates {sorted(rates)}")
            phrase = enst_phrase(name)
            yield split_for(phrase), Song(
                song_id=f"{drummer.name}/{name}", tracks=tracks, wet_mix=mixes.get("wet_mix"),
                dry_mix=mixes.get("dry_mix"), sample_rate=next(iter(rates)), source="ENST-drums",
                license=ENST_LICENSE, engineer="ENST-drums", style=phrase, kit=drummer.name,
                metadata={"take": name, "phrase": phrase, "drummer": drummer.name},
            )


def enst_description() -> DatasetDescription:
    return DatasetDescription(
        pretty_name="ENST-drums multitracks (mixwave-hf format)",
        license=ENST_LICENSE,
        how_made="Built with `mixwave data build enst` from the ENST-drums database (Gillet & Richard, "
        "ISMIR 2006): 3 drummers on their own kits, 8 close and overhead microphones, with the dry and "
        "wet mixes made by the database's sound engineer. Splits follow the played phrase (the file name "
        "without its take number), so a phrase played by several drummers stays in one split.",
        attribution="ENST-drums is (c) Telecom ParisTech / ENST, distributed by its authors for "
        "non-commercial research; cite O. Gillet and G. Richard, \"ENST-Drums: an extensive audio-visual "
        "database for drum signals processing\", ISMIR 2006. Do not redistribute without their permission.",
        tags=["enst-drums"],
    )


def count_enst_songs(root: str | Path) -> int:
    return sum(len(list((drummer / "audio" / "wet_mix").glob("*.wav")))
               for drummer in Path(root).glob("drummer_*"))


# ---- a folder of songs -----------------------------------------------------------------------------

def folder_description(root: str | Path, license: str) -> DatasetDescription:
    return DatasetDescription(
        pretty_name=f"{Path(root).name} multitracks (mixwave-hf format)",
        license=license,
        how_made=f"Built with `mixwave data build folder` from `{Path(root).name}/`: one folder per song, "
        "one file per track and the engineer's mix. Splits follow a stable hash of the song folder name.",
    )


def folder_songs(root: str | Path, mix_name: str = "mix", license: str = "unknown") -> Iterator[tuple[str, Song]]:
    """(split, Song) for every ROOT/<song>/ folder: one audio file per track, and `<mix_name>.*` the mix.

    Files at another rate than the mix are resampled to it; the split comes from the folder name. Rows span
    the tracks (`Song.length`): a shorter track or mix is padded with silence, a longer mix cut; each song's
    `metadata["notes"]` says so (`folder_song_notes`). An audio-named entry that is no regular file (a
    broken link) is read, so that `audio.read_audio` names it, never left out unsaid.
    """
    root = Path(root)
    folders = sorted(path for path in root.iterdir() if path.is_dir()) if root.is_dir() else []
    if not folders:
        raise BuildError(f"{root}: no song folders; expected ROOT/<song>/<track files> and ROOT/<song>/{mix_name}.wav")
    for folder in folders:
        files = sorted(path for path in folder.iterdir() if not path.is_dir() and is_audio_file(path))
        mixes = [path for path in files if path.stem == mix_name]
        if len(mixes) != 1:
            found = ", ".join(path.name for path in files) or "no audio files"
            raise BuildError(f"{folder}: expected one mix file named {mix_name}.<ext> (found: {found}); "
                             "pass --mix-name to name it")
        mix, rate = read_audio(mixes[0])
        tracks, rates = {}, {}
        for path in files:
            if path != mixes[0]:
                samples, rates[path.name] = read_audio(path)
                tracks[path.stem] = resample(samples, rates[path.name], rate).mean(axis=0)
        if not tracks:
            raise BuildError(f"{folder}: only a mix, no track files")
        lengths = {path.name: tracks[path.stem].shape[-1] for path in files if path != mixes[0]}
        yield split_for(folder.name), Song(
            song_id=folder.name, tracks=tracks, wet_mix=np.repeat(mix, 2, axis=0) if mix.shape[0] == 1 else mix[:2],
            dry_mix=None, sample_rate=rate, source="folder", license=license,
            metadata={"files": [path.name for path in files],
                      "notes": folder_song_notes(mixes[0].name, mix.shape[-1], lengths, rates, rate)},
        )


def folder_song_notes(mix_file: str, mix_length: int, lengths: dict[str, int], rates: dict[str, int],
                      rate: int) -> list[str]:
    """What building a folder song did to its files (track files by name: `lengths` in samples at the mix's
    `rate`, `rates` as read): tracks resampled to the mix's rate, shorter tracks padded with silence, a mix
    longer than the tracks cut to them, a shorter one padded. Lengths within a sample (resampling) are equal."""
    notes = [f"{name} at {track_rate} Hz: resampled to the mix's {rate} Hz" for name, track_rate in rates.items()
             if track_rate != rate]
    longest = max(lengths.values())
    shorter = [f"{name} {length / rate:.2f} s" for name, length in lengths.items() if longest - length > 1]
    if shorter:
        notes.append(f"tracks of different lengths: {', '.join(shorter)} padded with silence to {longest / rate:.2f} s")
    if abs(mix_length - longest) > 1:
        what = "cut to the tracks' length" if mix_length > longest else "padded with silence to the tracks' length"
        notes.append(f"{mix_file} is {mix_length / rate:.2f} s long, the tracks {longest / rate:.2f} s: the mix is "
                     f"{what}")
    return notes


def song_notes(songs: Iterable[tuple[str, Song]], notes: list[str]) -> Iterator[tuple[str, Song]]:
    """`songs` as they come, each song's `metadata["notes"]` appended to `notes` as "SONG_ID: note"."""
    for split, song in songs:
        notes.extend(f"{song.song_id}: {note}" for note in song.metadata.get("notes", []))
        yield split, song


# ---- the synthetic drum corpus ---------------------------------------------------------------------

def synth_description(recipe: str = "session") -> DatasetDescription:
    """The dataset card's text for a corpus rendered with `recipe` (a name of synth.RECIPES)."""
    from mixwave_hf.data.synth import KITS, corpus_recipe
    from mixwave_hf.data.synth.kits import kit_credits

    recipe = corpus_recipe(recipe)
    kits = sorted({kit for kits in recipe.split_kits.values() for kit in kits})
    credits = " ".join(kit_credits(kits))  # the kits rendered
    licenses = sorted({KITS[name].license for name in kits})
    held_out = ", ".join(recipe.split_kits["test"])
    if recipe.in_room:
        how_made = (
            "Rendered with `mixwave data build synth` (mixwave_hf/data/synth/, recipe `session`) from sampled "
            "drum kits: seeded grooves (sticks, brushes or rods; songs without crashes, ride-only songs; toms "
            "played, barely played or never played), per-piece renders, and a room model (pyroomacoustics' image "
            "sources and a statistical tail in a drawn room from a dead booth to a live room, the kit and its mics "
            "placed in it: cardioid close mics aimed at their drums, a spaced, ORTF or XY overhead pair) with a "
            "noise floor and a random input gain. One fixed light-handed engineer (levels, EQ that brightens "
            "overheads and hi-hat, gentle compression, a subtle reverb send in dead rooms, no limiter) makes the "
            f"wet mix from the {recipe.perspective}'s perspective (the hi-hat "
            f"{'right' if recipe.perspective == 'audience' else 'left'}); the dry mix has the same gains and pans "
            f"without effects. The test split plays kits the training split never saw ({held_out}); the stress "
            "split plays them under conditions outside the training ranges (larger, more reverberant rooms, mics "
            "further from their drums, input gains of ±24 dB, an overhead pair out of balance). Every parameter is "
            "in each row's `metadata`, so any song can be re-rendered from its seed.")
    else:
        how_made = (
            "Rendered with `mixwave data build synth --recipe classic` (mixwave_hf/data/synth/) from sampled "
            "acoustic kits: seeded grooves, per-piece renders into 8 close and overhead microphones, a recording "
            "model (bleed, spaced overhead pair, room, noise floor, random input gain), and one fixed engineer "
            "(loudness normalisation, EQ, compression, panning from the drummer's perspective, reverb send, bus "
            "compression, limiter) making the wet mix; the dry mix has the same gains and pans without effects. "
            "The test split uses a kit the training split never saw; the stress split plays that kit under "
            "recording conditions outside the training ranges (input gains of ±24 dB, an overhead pair out of "
            "balance by up to 12 dB, stronger bleed, a larger room, toms barely or never played; "
            "`metadata.stress` says which). Every parameter is in each row's `metadata`, so any song can be "
            "re-rendered from its seed.")
    return DatasetDescription(
        pretty_name="mixwave-hf synthetic drum multitracks",
        license=licenses[0].lower() if len(licenses) == 1 else "other",
        how_made=how_made,
        attribution=f"Rendered audio carries the licence of the kit it was rendered from ({', '.join(licenses)}; "
        f"each row's `license` and `kit` say which), with attribution. {credits}",
        tags=["synthetic"],
    )


def synth_songs(hours: float, seed: int, workers: int = 2, segment_seconds: float = SEGMENT_SECONDS,
                splits: Sequence[str] | None = None, recipe: str = "session") -> tuple[int, Iterator[tuple[str,
                                                                                                     list[dict]]]]:
    """(number of songs, iterator of (split, rows)) for a rendered corpus of about `hours` hours, or
    only its `splits` (names of synth.CORPUS_SPLITS; default all): the same songs as in the whole corpus.
    `recipe` (synth.RECIPES) sets the kits, the recording model, the engineer and the perspective.

    Songs are rendered and FLAC-encoded in `workers` processes (one core each), in plan order, so
    the corpus is the same whatever the worker count.
    """
    from mixwave_hf.data.synth import CORPUS_SPLITS, plan_corpus

    unknown = sorted(set(splits or ()) - set(CORPUS_SPLITS))
    if unknown or (splits is not None and not splits):
        raise BuildError(f"splits {list(splits)}; expected one or more of {list(CORPUS_SPLITS)}")
    plans = [plan for plan in plan_corpus(hours, seed, recipe) if splits is None or plan.split in splits]

    render = functools.partial(render_planned_song, segment_seconds=segment_seconds)

    def rendered() -> Iterator[tuple[str, list[dict]]]:
        if workers <= 1:
            yield from map(render, plans)
            return
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no forked copies of a threaded parent
        with one_thread_per_process(), context.Pool(workers) as pool:
            yield from pool.imap(render, plans)

    return len(plans), rendered()


@contextlib.contextmanager
def one_thread_per_process() -> Iterator[None]:
    """Thread-count variables set while worker processes start, so each renders on one core (numpy's
    BLAS reads them when it is imported, before any pool initializer could run)."""
    variables = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {variable: os.environ.get(variable) for variable in variables}
    os.environ.update(dict.fromkeys(variables, "1"))
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def render_planned_song(plan, segment_seconds: float = SEGMENT_SECONDS) -> tuple[str, list[dict]]:
    """Render one planned song (`synth.SongPlan`) and encode its rows: (split, rows)."""
    from mixwave_hf.data.synth import KITS, render_song

    rendered = render_song(plan.seed, plan.kit, plan.seconds, conditions=plan.conditions, recipe=plan.recipe)
    kit = KITS[plan.kit]
    engineer = SYNTH_ENGINEER if plan.recipe == "classic" else (
        f"mixwave-hf {rendered.metadata['engineer']['engineer']} engineer, {rendered.metadata['perspective']}'s "
        "perspective")
    song = Song(
        song_id=plan.song_id, tracks=rendered.tracks, wet_mix=rendered.wet_mix, dry_mix=rendered.dry_mix,
        sample_rate=rendered.sample_rate, source="mixwave-hf synthetic drums", license=kit.license,
        engineer=engineer, style=str(rendered.metadata.get("style", "")), kit=plan.kit, seed=plan.seed,
        metadata=rendered.metadata,
    )
    return plan.split, list(song_rows(song, segment_seconds))

