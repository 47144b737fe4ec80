"""`python -m mixwave_hf.data.synth --example DIR`: write a rendered example multitrack;
`--speed`: measure how fast songs render on one core."""

from __future__ import annotations

import argparse
import time

from mixwave_hf.data.synth.example import EXAMPLE_KIT, EXAMPLE_SEED, write_rendered_example
from mixwave_hf.data.synth.kits import KITS
from mixwave_hf.data.synth.song import render_song


def measure_speed(kit: str, seconds: float, songs: int) -> None:
    """Print seconds of 8-track audio rendered per wall-clock second (one core), after a warm-up song."""
    render_song(0, kit, 2.0)  # loads the soundfont, outside the timing
    start = time.perf_counter()
    for seed in range(1, songs + 1):
        render_song(seed, kit, seconds)
    elapsed = time.perf_counter() - start
    print(f"{kit}: {songs} songs x {seconds:g} s in {elapsed:.2f} s wall: "
          f"{songs * seconds / elapsed:.1f} s of 8-track audio per second (x real time, one core)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mixwave_hf.data.synth", description=__doc__)
    parser.add_argument("--example", metavar="DIR", help="write a ~4 s rendered multitrack (8 FLAC files) into DIR")
    parser.add_argument("--seed", type=int, default=EXAMPLE_SEED)
    parser.add_argument("--kit", default=EXAMPLE_KIT, choices=sorted(KITS))
    parser.add_argument("--seconds", type=float, default=None, help="length (default: 4 for --example, 30 for --speed)")
    parser.add_argument("--speed", action="store_true", help="measure render speed on one core")
    parser.add_argument("--songs", type=int, default=3, help="songs timed by --speed")
    args = parser.parse_args(argv)
    if not args.example and not args.speed:
        parser.error("nothing to do: pass --example DIR or --speed")
    if args.example:
        for path in write_rendered_example(args.example, args.seed, args.kit, args.seconds or 4.0):
            print(path)
    if args.speed:
        measure_speed(args.kit, args.seconds or 30.0, args.songs)


if __name__ == "__main__":
    main()
