"""The training loader: crops, alignment, slots, sharding, shuffling, resuming, skipped rows, bundles, the Hub.

Tiny datasets of 2 s songs written with the schema's own writer, and a tiny model's window (3,243 input
-> 3,005 output samples), so every test reads real parquet shards and FLAC bytes in well under a second.
"""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from mixwave_hf.data.loader import (
    UNSHUFFLED,
    BundleDataset,
    CropConfig,
    CropOptions,
    LoaderStats,
    StreamingDataset,
    StreamingOptions,
    ValidationDataset,
    ValidationOptions,
    export_bundle,
)
from mixwave_hf.data.loader import padded_slice as window
from mixwave_hf.data.schema import DatasetWriter, Song, song_rows
from mixwave_hf.model import MixWaveUNet

RATE = 44_100
SONG_SECONDS, SEGMENT_SECONDS = 2.0, 1.0
TRAIN_SONGS, TRAIN_SHARDS = 6, 4
# Only the window arithmetic of a tiny model; no gain, so that crops can be checked sample by sample.
CONFIG = CropConfig.for_model(MixWaveUNet(levels=3, base_channels=2).config, CropOptions(
    crop_output_samples=3000, crops_per_segment=3, gain_db=0.0, min_segment_seconds=0.0))


def make_song(song_id: str, seed: int, names: tuple[str, ...] = ("kick", "snare", "hihat"),
              dry: bool = True) -> Song:
    """Noise tracks; the wet mix is the first track on both channels (so target = that input, aligned)."""
    rng = np.random.default_rng(seed)
    length = int(SONG_SECONDS * RATE)
    tracks = {name: (0.2 * rng.standard_normal(length)).astype(np.float32) for name in names}
    first = tracks[names[0]]
    return Song(song_id, tracks, np.stack([first, first]), 0.5 * np.stack([first, first]) if dry else None,
                RATE, source="test", license="cc0-1.0")


def write_dataset(directory: Path, songs: dict[str, list[Song]], shards: dict[str, int]) -> Path:
    writer = DatasetWriter(directory, shards)
    for split, split_songs in songs.items():
        for song in split_songs:
            for row in song_rows(song, SEGMENT_SECONDS):
                writer.write(split, row)
    writer.close()
    return directory


@pytest.fixture(scope="module")
def songs() -> dict[str, Song]:
    train = [make_song(f"song{i}", seed=i, dry=i % 2 == 0) for i in range(TRAIN_SONGS)]
    return {song.song_id: song for song in train}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, songs) -> Path:
    """12 train rows (6 songs x 2 segments) in 4 shards of 2 row groups; a validation split of 2 songs."""
    validation = [make_song(f"val{i}", seed=100 + i) for i in range(2)]
    return write_dataset(tmp_path_factory.mktemp("drums"), {"train": list(songs.values()), "validation": validation},
                         {"train": TRAIN_SHARDS, "validation": 1})


def segment_ids(crops) -> list[tuple[str, int]]:
    return [(crop["song_id"], crop["segment_index"]) for crop in crops]


def all_segments(songs: dict[str, Song]) -> set[tuple[str, int]]:
    per_song = int(SONG_SECONDS / SEGMENT_SECONDS)
    return {(song_id, index) for song_id in songs for index in range(per_song)}


def expected_window(track: np.ndarray, segment_index: int, start: int, length: int) -> np.ndarray:
    """The window of a source track a crop should hold: silence outside the segment."""
    segment_samples = int(SEGMENT_SECONDS * RATE)
    segment = track[..., segment_index * segment_samples : (segment_index + 1) * segment_samples]
    return window(np.atleast_2d(segment), start, length)


def assert_same_crops(crops, expected) -> None:
    assert len(crops) == len(expected)
    for crop, other in zip(crops, expected, strict=True):
        assert (crop["song_id"], crop["segment_index"], crop["start"]) == (
            other["song_id"], other["segment_index"], other["start"])
        assert torch.equal(crop["tracks"], other["tracks"]) and torch.equal(crop["target"], other["target"])


def test_default_crop_config_is_the_paper_window() -> None:
    config = CropConfig()
    assert config == CropConfig.for_model(MixWaveUNet().config)
    assert (config.input_samples, config.output_samples, config.context) == (121_843, 89_093, 16_375)
    with pytest.raises(ValueError, match="target='mid'; expected one of"):
        CropConfig(target="mid")
    with pytest.raises(ValueError, match="expected a valid pair of the model"):
        CropConfig(input_samples=1000, output_samples=999)


def test_crops_have_the_window_lengths_and_the_target_aligned_with_the_output(dataset, songs) -> None:
    crops = list(StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED))
    assert len(crops) == 2 * TRAIN_SONGS * CONFIG.crops_per_segment
    context, output = CONFIG.context, CONFIG.output_samples
    for crop in crops:
        assert crop["tracks"].shape == (8, CONFIG.input_samples) and crop["tracks"].dtype == torch.float32
        assert crop["target"].shape == (2, output) and crop["target"].dtype == torch.float32
        # The target is the kick itself: output sample j must be kick input sample j + context, exactly.
        assert torch.equal(crop["target"][0], crop["tracks"][0, context : context + output])
        assert torch.equal(crop["target"][1], crop["target"][0])
        low, high = CONFIG.start_range(int(SEGMENT_SECONDS * RATE))
        assert low <= crop["start"] <= high
        source = songs[crop["song_id"]]
        for slot, name in enumerate(("kick", "snare", "hihat")):
            expected = expected_window(source.tracks[name], crop["segment_index"], crop["start"], CONFIG.input_samples)
            np.testing.assert_allclose(crop["tracks"][slot].numpy(), expected[0], atol=1e-6)  # 24-bit FLAC
        assert not crop["tracks"][3:].any()  # no toms, no overheads: silence


def test_gain_augmentation_scales_each_input_track_within_range_and_leaves_the_target(dataset) -> None:
    config = CropConfig(**{**CONFIG.__dict__, "gain_db": 6.0})
    plain = list(StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED))
    gained = list(StreamingDataset(dataset, "train", config, UNSHUFFLED))
    ratios = []
    for crop, reference in zip(gained, plain, strict=True):
        assert crop["start"] == reference["start"] and torch.equal(crop["target"], reference["target"])
        for slot in range(3):
            ratio = crop["tracks"][slot].abs().max() / reference["tracks"][slot].abs().max()
            ratios.append(float(ratio))
    decibels = 20 * np.log10(ratios)
    assert decibels.min() >= -6.001 and decibels.max() <= 6.001 and decibels.std() > 1.0


def test_ranks_and_workers_read_disjoint_shards_that_cover_the_split(dataset, songs) -> None:
    config = CropConfig(**{**CONFIG.__dict__, "crops_per_segment": 1})
    seen: dict[tuple[int, int], set] = {}
    for rank in range(2):
        crops = StreamingDataset(dataset, "train", config, UNSHUFFLED, rank=rank, world_size=2)
        for worker in range(2):
            seen[rank, worker] = set(segment_ids(crops.iter_worker(worker, 2)))
    assert all(seen.values())
    for first, second in itertools.combinations(seen.values(), 2):
        assert not first & second
    assert set().union(*seen.values()) == all_segments(songs)


def test_shards_not_divisible_by_readers_fall_back_to_row_groups_and_too_many_readers_fail(dataset, songs) -> None:
    config = CropConfig(**{**CONFIG.__dict__, "crops_per_segment": 1})
    with pytest.warns(UserWarning, match="4 parquet shards is not a multiple of 3 readers"):
        readers = [StreamingDataset(dataset, "train", config, UNSHUFFLED, rank=rank, world_size=3)
                   for rank in range(3)]
    parts = [set(segment_ids(crops)) for crops in readers]
    assert all(parts) and sum(map(len, parts)) == len(set().union(*parts)) == len(all_segments(songs))

    with pytest.raises(ValueError, match=r"4 parquet shards \(8 row groups\) for 9 readers"):
        StreamingDataset(dataset, "train", config, world_size=9)
    crops = StreamingDataset(dataset, "train", config, UNSHUFFLED, rank=1, world_size=3)
    with pytest.raises(ValueError, match=r"for 9 readers \(world_size 3 x DataLoader workers\)"):
        next(crops.iter_worker(0, 3))


def test_shuffle_is_seeded_and_set_epoch_changes_the_order(dataset, songs) -> None:
    fixed = StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED)
    order = segment_ids(fixed)
    assert order == segment_ids(fixed)  # unshuffled: the same order every pass

    shuffled = StreamingDataset(dataset, "train", CONFIG, StreamingOptions(seed=3, shuffle_buffer_crops=6))
    first = list(shuffled)
    assert_same_crops(list(shuffled), first)  # same seed, same epoch: same crops
    shuffled.set_epoch(1)
    second = list(shuffled)
    assert segment_ids(first) != order and segment_ids(second) != segment_ids(first)
    assert sorted(segment_ids(first)) == sorted(segment_ids(second)) == sorted(order)
    # Consecutive crops come from different segments more often than without the crop buffer.
    changes = sum(a != b for a, b in itertools.pairwise(segment_ids(first)))
    assert changes > len(order) // CONFIG.crops_per_segment


@pytest.mark.parametrize("taken", [4, 6])  # inside a segment, and at a segment boundary
def test_state_restores_exactly_the_next_crops_without_shuffling(dataset, taken) -> None:
    crops = StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED, world_size=2, rank=1)
    stream = iter(crops)
    before = [next(stream) for _ in range(taken)]
    state = json.loads(json.dumps(crops.state_dict()))  # a state survives serialisation
    rest = list(stream)
    assert len(before) + len(rest) == 6 * CONFIG.crops_per_segment

    restored = StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED, world_size=2, rank=1)
    restored.load_state_dict(state)
    assert_same_crops(list(restored), rest)
    assert restored.stats.crops == crops.stats.crops

    wrong_layout = StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED)
    wrong_layout.load_state_dict(state)
    with pytest.raises(ValueError, match="saved by reader 1 of 2 .* this is reader 0 of 1"):
        next(iter(wrong_layout))


def test_shuffled_resume_continues_the_epoch_deterministically(dataset, songs) -> None:
    def shuffled() -> StreamingDataset:
        return StreamingDataset(dataset, "train", CONFIG,
                                StreamingOptions(seed=1, shuffle_buffer_segments=2, shuffle_buffer_crops=4))

    crops = shuffled()
    stream = iter(crops)
    before = [next(stream) for _ in range(5)]
    state = crops.state_dict()
    resumed, again = shuffled(), shuffled()
    resumed.load_state_dict(state)
    again.load_state_dict(state)
    after = list(resumed)
    # The buffers' contents are given up (documented), so this is not the rest of the uninterrupted
    # epoch; but it is the same on every resume from this state, and it stays in this epoch.
    assert_same_crops(list(again), after)
    assert 0 < len(after) < len(all_segments(songs)) * CONFIG.crops_per_segment - len(before) + 4
    assert resumed.state_dict()["epoch"] == 1


def test_repeat_runs_on_through_epochs(dataset) -> None:
    crops = StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED, repeat=True)
    per_epoch = 2 * TRAIN_SONGS * CONFIG.crops_per_segment
    taken = list(itertools.islice(crops, per_epoch + 2 * CONFIG.crops_per_segment))
    # Unshuffled, the next epoch reads the segments in the same order; the crops in them are new draws.
    assert segment_ids(taken[per_epoch:]) == segment_ids(taken[: 2 * CONFIG.crops_per_segment])
    assert [crop["start"] for crop in taken[per_epoch:]] != [crop["start"] for crop in taken[:6]]
    assert crops.state_dict()["epoch"] == 1

    # A state saved right after an epoch's last crop resumes into the next epoch.
    at_the_end = StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED, repeat=True)
    stream = iter(at_the_end)
    for _ in range(per_epoch):
        next(stream)
    restored = StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED, repeat=True)
    restored.load_state_dict(at_the_end.state_dict())
    assert_same_crops(list(itertools.islice(restored, 2)), taken[per_epoch : per_epoch + 2])


def test_stateful_dataloader_with_workers_resumes_each_worker(dataset) -> None:
    stateful = pytest.importorskip("torchdata.stateful_dataloader")

    def loader():
        return stateful.StatefulDataLoader(StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED),
                                           batch_size=2, num_workers=2)

    first = loader()
    batches = iter(first)
    for _ in range(3):
        next(batches)
    state = first.state_dict()
    rest = list(batches)
    assert LoaderStats.from_state(state).crops == 6  # counted in the workers, read from their states

    second = loader()
    second.load_state_dict(state)
    resumed = list(second)
    assert len(resumed) == len(rest) > 0
    for batch, expected in zip(resumed, rest, strict=True):
        assert batch["song_id"] == expected["song_id"] and torch.equal(batch["tracks"], expected["tracks"])


def test_track_names_map_onto_slots_by_alias_and_missing_slots_are_silence(tmp_path) -> None:
    rng = np.random.default_rng(7)
    length = int(SONG_SECONDS * RATE)
    tracks = {name: (0.2 * rng.standard_normal(length)).astype(np.float32)
              for name in ("BD 2", "bd", "Snare Top", "hi-hat", "Room Mic")}
    tracks["OH"] = (0.2 * rng.standard_normal((2, length))).astype(np.float32)  # a stereo overhead pair
    kick = tracks["BD 2"]  # sorted first of the two kick names, so it fills the slot; "bd" is the duplicate
    song = Song("aliases", tracks, np.stack([kick, kick]), None, RATE, source="test", license="cc0-1.0")
    write_dataset(tmp_path, {"train": [song]}, {"train": 1})

    crops = StreamingDataset(tmp_path, "train", CONFIG, UNSHUFFLED)
    delivered = list(crops)
    expected_slots = {0: tracks["BD 2"], 1: tracks["Snare Top"], 2: tracks["hi-hat"],
                      6: tracks["OH"][0], 7: tracks["OH"][1]}
    for crop in delivered:
        for slot in range(8):
            if slot in expected_slots:
                expected = expected_window(expected_slots[slot], crop["segment_index"], crop["start"],
                                           CONFIG.input_samples)[0]
                np.testing.assert_allclose(crop["tracks"][slot].numpy(), expected, atol=1e-6)
            else:
                assert not crop["tracks"][slot].any(), f"slot {CONFIG.slot_names[slot]} should be silence"
    rows = 2
    assert crops.stats.unmatched_tracks == {"Room Mic": rows}
    assert crops.stats.duplicate_tracks == rows


def test_rows_without_the_target_are_skipped_and_counted(dataset, songs) -> None:
    config = CropConfig(**{**CONFIG.__dict__, "target": "dry"})
    crops = StreamingDataset(dataset, "train", config, UNSHUFFLED)
    delivered = list(crops)
    with_dry = {song_id for song_id, song in songs.items() if song.dry_mix is not None}
    assert {crop["song_id"] for crop in delivered} == with_dry
    assert crops.stats.missing_target == 2 * (len(songs) - len(with_dry))
    context, output = config.context, config.output_samples
    for crop in delivered:  # the dry mix is half the kick, each rounded to 24 bits on its own
        torch.testing.assert_close(crop["target"][0], 0.5 * crop["tracks"][0, context : context + output],
                                   atol=1e-6, rtol=0)


def test_a_corrupt_row_is_skipped_counted_and_logged(tmp_path, caplog) -> None:
    good, bad = make_song("good", seed=1), make_song("bad", seed=2)
    writer = DatasetWriter(tmp_path, {"train": 2})
    for song in (good, bad):
        for row in song_rows(song, SEGMENT_SECONDS):
            if song is bad and row["segment_index"] == 1:
                row["tracks"][1] = {"bytes": b"fLaC but not really" * 50, "path": None}
            writer.write("train", row)
    writer.close()

    crops = StreamingDataset(tmp_path, "train", CONFIG, UNSHUFFLED)
    with caplog.at_level(logging.WARNING, logger="mixwave_hf.data.loader"):
        delivered = list(crops)
    assert sorted(set(segment_ids(delivered))) == [("bad", 0), ("good", 0), ("good", 1)]
    assert crops.stats.corrupt == 1 and crops.stats.segments == 3
    assert "song 'bad' segment 1: skipped, audio does not decode" in caplog.text


def test_validation_set_is_fixed_evenly_spaced_and_capped(dataset) -> None:
    config = CropConfig(**{**CONFIG.__dict__, "gain_db": 6.0})  # ignored: validation has no gain
    sizes = ValidationOptions(crops_per_segment=3, max_crops=10)
    validation = ValidationDataset.from_split(dataset, "validation", config, sizes)
    again = ValidationDataset.from_split(dataset, "validation", config, sizes)
    assert len(validation) == 10 and isinstance(validation, torch.utils.data.Dataset)
    assert_same_crops([validation[i] for i in range(10)], [again[i] for i in range(10)])
    low, high = config.start_range(int(SEGMENT_SECONDS * RATE))
    assert [validation[i]["start"] for i in range(3)] == [low, (low + high) // 2, high]
    context, output = config.context, config.output_samples
    for crop in validation.crops:
        assert torch.equal(crop["target"][0], crop["tracks"][0, context : context + output])


def test_bundle_round_trip_gives_the_streamed_crops_without_importing_datasets(dataset, tmp_path) -> None:
    bundle = tmp_path / "train.npz"
    index = export_bundle(dataset, "train", bundle, CONFIG, dtype="float32", progress=False)
    assert len(index["segments"]) == 2 * TRAIN_SONGS and index["segments"][0]["license"] == "cc0-1.0"
    streamed = list(StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED))

    script = f"""
import sys, torch
from mixwave_hf.data.loader import UNSHUFFLED, BundleDataset, CropConfig, ValidationDataset, ValidationOptions
config = CropConfig(**{CONFIG.__dict__!r})
crops = list(BundleDataset({str(bundle)!r}, config, UNSHUFFLED))
ValidationDataset.from_bundle({str(bundle)!r}, config, ValidationOptions(max_crops=2))
torch.save(crops, {str(tmp_path / "crops.pt")!r})
print(sorted(name for name in ("datasets", "pyarrow") if name in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
    assert_same_crops(torch.load(tmp_path / "crops.pt"), streamed)

    small = tmp_path / "train-int16.npz"
    export_bundle(dataset, "train", small, CONFIG, max_segments=4, progress=False)
    assert small.stat().st_size < bundle.stat().st_size / 2
    quantised = list(BundleDataset(small, CONFIG, UNSHUFFLED))
    assert len(quantised) == 4 * CONFIG.crops_per_segment
    for crop, reference in zip(quantised, streamed, strict=False):
        torch.testing.assert_close(crop["tracks"], reference["tracks"], atol=2e-5, rtol=0)

    parts = [set(segment_ids(BundleDataset(bundle, CONFIG, rank=rank, world_size=2))) for rank in range(2)]
    assert not parts[0] & parts[1] and len(parts[0] | parts[1]) == 2 * TRAIN_SONGS
    with pytest.raises(ValueError, match="bundle of .*'target': 'wet'.* asks for .*'target': 'dry'"):
        BundleDataset(bundle, CropConfig(**{**CONFIG.__dict__, "target": "dry"}))


def test_streams_a_dataset_uploaded_to_the_hub(hub_server, dataset) -> None:
    from huggingface_hub import HfApi

    api = HfApi()
    repo_id = "someorg/tiny-drums"
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 4 shards for 2 ranks: no fallback warning
        crops = StreamingDataset(repo_id, "train", CONFIG, UNSHUFFLED, rank=1, world_size=2)
        assert crops.num_shards == TRAIN_SHARDS
        from_hub = list(crops)
    local = list(StreamingDataset(dataset, "train", CONFIG, UNSHUFFLED, rank=1, world_size=2))
    assert_same_crops(from_hub, local)


def test_levelling_crops_level_each_segment_and_refuse_gain_augmentation(dataset, tmp_path) -> None:
    """With the model's levelling, every track of a segment is at levelling_lufs before crops are cut,
    whatever its recorded level; random input gains would undo that and are refused."""
    from mixwave_hf.loudness import track_level

    model = MixWaveUNet(levels=3, base_channels=2, levelling="integrated")
    config = CropConfig.for_model(model.config, CropOptions(crop_output_samples=3000, crops_per_segment=1,
                                                              min_segment_seconds=0.0))
    assert (config.levelling, config.gain_db) == ("integrated", 0.0)
    validation = ValidationDataset.from_split(dataset, "validation", config, ValidationOptions(crops_per_segment=1))
    plain = ValidationDataset.from_split(dataset, "validation", CONFIG, ValidationOptions(crops_per_segment=1))
    for levelled, recorded in zip(validation.crops, plain.crops, strict=True):
        tracks = levelled["tracks"].numpy()
        ratio = tracks[0, 1000:1100] / recorded["tracks"].numpy()[0, 1000:1100]
        assert np.allclose(ratio, ratio[0], rtol=1e-4)  # a gain, nothing else
        assert not tracks[3:].any()  # missing slots stay silent
        torch.testing.assert_close(levelled["target"], recorded["target"])  # the target is not touched
    export_bundle(dataset, "train", tmp_path / "train.npz", config, progress=False)
    crop = next(iter(BundleDataset(tmp_path / "train.npz", config, UNSHUFFLED)))
    recorded = next(iter(BundleDataset(tmp_path / "train.npz", CONFIG, UNSHUFFLED)))
    assert crop["start"] == recorded["start"] and crop["tracks"].shape[-1] == config.input_samples
    assert abs(track_level(crop["tracks"][0].numpy(), RATE, "integrated") - track_level(
        recorded["tracks"][0].numpy(), RATE, "integrated")) > 1.0  # the noise tracks sit near -17 LUFS, not -30
    with pytest.raises(ValueError, match="gain_db=6.0 with levelling='integrated'"):
        CropConfig.for_model(model.config, CropOptions(crop_output_samples=3000, gain_db=6.0))


def test_bundle_segments_decode_one_at_a_time_and_match_read_bundle(dataset, tmp_path) -> None:
    from mixwave_hf.data.loader import BundleSegments, read_bundle

    export_bundle(dataset, "train", tmp_path / "train.npz", CONFIG, progress=False)
    lazy = BundleSegments(tmp_path / "train.npz")
    index, eager = read_bundle(tmp_path / "train.npz")
    assert len(lazy) == len(eager) == 12 and lazy.audio.dtype == np.int16
    for number in (0, 5, -1):
        np.testing.assert_array_equal(lazy[number].tracks, eager[number].tracks)
        assert lazy[number].song_id == eager[number].song_id
    with pytest.raises(IndexError):
        lazy[12]


@pytest.mark.parametrize("levelling", ["close_strokes", "bleed_aware"])
def test_levelling_gains_are_measured_once_per_segment_and_reused_bit_for_bit(dataset, tmp_path, levelling) -> None:
    from unittest import mock

    from mixwave_hf.data import crops as loader  # where levelled_segment looks up level_tracks
    from mixwave_hf.data.loader import BundleSegments, levelled_segment

    config = CropConfig.for_model(MixWaveUNet(levels=3, base_channels=2, levelling=levelling).config,
                                  CropOptions(crop_output_samples=3000, crops_per_segment=1, min_segment_seconds=0.0))
    export_bundle(dataset, "train", tmp_path / "train.npz", config, progress=False)
    segment = BundleSegments(tmp_path / "train.npz")[0]
    known: dict = {}
    first = levelled_segment(segment, config, known)
    with mock.patch.object(loader, "level_tracks", side_effect=AssertionError("measured again")):
        again = levelled_segment(segment, config, known)
    np.testing.assert_array_equal(again.tracks, first.tracks)
    np.testing.assert_array_equal(first.tracks, levelled_segment(segment, config).tracks)
    assert list(known) == [(segment.song_id, segment.segment_index)]
    stream = BundleDataset(tmp_path / "train.npz", config, UNSHUFFLED, repeat=True)
    list(itertools.islice(iter(stream), 30))  # 12 segments, so past the first epoch
    assert len(stream._levelling_gains) == 12
