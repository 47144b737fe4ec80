"""What `mixwave data build`, `push`, `example` and `speed` run, given their parsed arguments (`parser`).

    mixwave data example mixwave_hf/examples/drums   # a ~4 s rendered multitrack (8 FLAC files)
    mixwave data speed --kit avl_black_pearl          # seconds of 8-track audio rendered per second, one core
"""

from __future__ import annotations

import argparse
import time

from mixwave_hf.cli.checks import CommandError
from mixwave_hf.files import folder_relation


def run_build(args: argparse.Namespace) -> int:
    """`mixwave data build ...`: write the dataset folder (never into or over ROOT) and print its splits."""
    from mixwave_hf.data import builders

    check_build_options(args)
    relation = folder_relation(args.out, args.root) if args.builder != "synth" else None
    if relation:
        raise CommandError(f"OUT {args.out} {relation} ROOT {args.root}: the build would write into or over the "
                           "collection it reads; choose an output folder apart from it")
    options = {key: str(value) for key, value in vars(args).items()
               if key not in ("run", "command", "data_command", "command_line")}
    splits, notes = builders.DATASET_SPLITS, []
    if args.builder == "enst":
        songs = builders.with_rows(builders.enst_songs(args.root), args.segment_seconds)
        total = builders.count_enst_songs(args.root)
        description = builders.enst_description()
    elif args.builder == "folder":
        songs = builders.with_rows(builders.song_notes(builders.folder_songs(args.root, args.mix_name,
                                                                             args.license), notes),
                                   args.segment_seconds)
        total = None
        description = builders.folder_description(args.root, args.license)
    else:
        from mixwave_hf.data.synth import CORPUS_SPLITS

        splits = tuple(args.splits or CORPUS_SPLITS)
        options["splits"] = " ".join(splits)
        total, songs = builders.synth_songs(args.hours, args.seed, args.workers, args.segment_seconds, splits,
                                            args.recipe)
        description = builders.synth_description(args.recipe)
    description.parameters = options
    summary = builders.build_dataset(songs, args.out, description, train_shards=args.train_shards, total=total,
                                     splits=splits)
    print(f"wrote {args.out}:")
    for split, figures in summary.items():
        print(f"  {split:<10} {figures['songs']:5d} songs {figures['rows']:6d} rows {figures['hours']:8.3f} h "
              f"in {figures['shards']} shards")
    for note in notes:
        print(f"note: {note}")
    return 0


def check_build_options(args: argparse.Namespace) -> None:
    """CommandError naming the first `data build` option out of range: --train-shards and (synth) --workers
    below 1, --segment-seconds and (synth) --hours not a positive finite number (NaN, inf, 0)."""
    import math

    numbers = {"--segment-seconds": args.segment_seconds, "--hours": getattr(args, "hours", 1.0)}
    for option, value in numbers.items():
        if not math.isfinite(value) or value <= 0:
            raise CommandError(f"{option} {value}; expected a positive finite number")
    for option, value in {"--train-shards": args.train_shards, "--workers": getattr(args, "workers", 1)}.items():
        if value < 1:
            raise CommandError(f"{option} {value}; expected 1 or more")


def run_push(args: argparse.Namespace) -> int:
    """`mixwave data push DIR org/name`."""
    from mixwave_hf.data.push import push_dataset

    url = push_dataset(args.directory, args.repo_id, private=args.private)
    print(f"uploaded {args.directory} to {url}")
    return 0


def run_example(args: argparse.Namespace) -> int:
    """`mixwave data example DIR`: write a rendered example multitrack (one FLAC file per slot) and name its files."""
    from mixwave_hf.data.synth.example import write_rendered_example

    for path in write_rendered_example(args.out, args.seed, args.kit, args.seconds):
        print(path)
    return 0


def run_speed(args: argparse.Namespace) -> int:
    """`mixwave data speed`: print seconds of 8-track audio rendered per wall-clock second (one core), after a
    warm-up song."""
    from mixwave_hf.data.synth.song import render_song

    render_song(0, args.kit, 2.0)  # loads the soundfont, outside the timing
    start = time.perf_counter()
    for seed in range(1, args.songs + 1):
        render_song(seed, args.kit, args.seconds)
    elapsed = time.perf_counter() - start
    print(f"{args.kit}: {args.songs} songs x {args.seconds:g} s in {elapsed:.2f} s wall: "
          f"{args.songs * args.seconds / elapsed:.1f} s of 8-track audio per second (x real time, one core)")
    return 0
