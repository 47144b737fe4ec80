"""Dataset builders (ENST layout, folder of songs), the card, and the Hub round trip of a built dataset."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

from mixwave_hf.cli import main
from mixwave_hf.data.builders import ENST_TRACKS, build_dataset, enst_phrase, split_for, with_rows
from mixwave_hf.data.dataset_card import DatasetDescription
from mixwave_hf.data.schema import DATASET_SPLITS, Song, decode_audio, open_split

RATE = 44_100


def tone(seconds: float, frequency: float, channels: int = 1, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    audio = 0.2 * np.sin(2 * np.pi * frequency * t).astype(np.float32)
    return np.stack([audio] * channels, axis=1) if channels > 1 else audio


def card_yaml(directory: Path) -> dict:
    text = (directory / "README.md").read_text()
    return yaml.safe_load(text.split("---")[1])


def rows_by_split(directory) -> dict[str, list[dict]]:
    return {split: list(open_split(str(directory), split)) for split in DATASET_SPLITS}


@pytest.fixture
def enst_root(tmp_path) -> Path:
    """A small fake ENST-drums tree: 2 drummers, 3 phrases, tom_3 only for drummer 3, a missing snare."""
    root = tmp_path / "ENST-drums"
    takes = {
        "drummer_1": ["001_hits_snare_sticks", "013_phrase_rock_simple_slow_sticks", "020_phrase_funk_fast_rods"],
        "drummer_3": ["002_hits_snare_sticks", "014_phrase_rock_simple_slow_sticks", "021_phrase_funk_fast_rods"],
    }
    for drummer, names in takes.items():
        for index, name in enumerate(names):
            seconds = 1.5 + index
            tracks = [track for track in ENST_TRACKS if drummer == "drummer_3" or track != "tom_3"]
            if name.startswith("020"):
                tracks.remove("snare")
            for number, track in enumerate([*tracks, "dry_mix", "wet_mix"]):
                folder = root / drummer / "audio" / track
                folder.mkdir(parents=True, exist_ok=True)
                channels = 2 if track == "wet_mix" else 1  # ENST's dry mix here mono: made stereo by the builder
                soundfile.write(folder / f"{name}.wav", tone(seconds, 100 + 50 * number, channels), RATE)
    return root


def test_enst_builder(enst_root, tmp_path, capsys):
    out = tmp_path / "enst-dataset"
    assert main(["data", "build", "enst", str(enst_root), str(out), "--train-shards", "2",
                 "--segment-seconds", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(list((out / "data").glob("train-*-of-00002.parquet"))) == 2
    card = card_yaml(out)
    assert card["license"] == "other" and card["task_categories"] == ["audio-to-audio"]
    assert [config["config_name"] for config in card["configs"]] == ["wet", "dry"]
    assert card["configs"][0]["default"] is True
    rows = rows_by_split(out)
    songs: dict[str, list[dict]] = {}
    for split, split_rows in rows.items():
        for row in split_rows:
            assert split == split_for(enst_phrase(row["song_id"].split("/")[1]))
            songs.setdefault(row["song_id"], []).append(row)
    assert len(songs) == 6
    for song_id, song_rows in songs.items():
        song_rows.sort(key=lambda row: row["segment_index"])
        names = song_rows[0]["track_names"]
        assert ("tom_3" in names) == song_id.startswith("drummer_3")
        assert ("snare" in names) == (song_id != "drummer_1/020_phrase_funk_fast_rods")
        lengths = [decode_audio(row["wet_mix"])[0].shape for row in song_rows]
        assert all(shape[0] == 2 for shape in lengths)
        assert [row["segment_start"] for row in song_rows] == [i * RATE for i in range(len(song_rows))]
        dry, _ = decode_audio(song_rows[0]["dry_mix"])
        assert dry.shape[0] == 2 and np.allclose(dry[0], dry[1])
        track, rate = decode_audio(song_rows[0]["tracks"][names.index("kick")])
        assert rate == RATE and track.shape == (1, RATE)
    song_seconds = [1.5, 2.5, 3.5] * 2  # the takes of both drummers, cut into 1 s segments
    assert sum(len(split_rows) for split_rows in rows.values()) == sum(math.ceil(s) for s in song_seconds)


def test_one_phrase_stays_in_one_split(enst_root, tmp_path):
    out = tmp_path / "enst"
    assert main(["data", "build", "enst", str(enst_root), str(out), "--train-shards", "1"]) == 0
    splits_of_phrase: dict[str, set[str]] = {}
    for split, rows in rows_by_split(out).items():
        for row in rows:
            splits_of_phrase.setdefault(enst_phrase(row["song_id"].split("/")[1]), set()).add(split)
    assert len(splits_of_phrase) == 3 and all(len(splits) == 1 for splits in splits_of_phrase.values())


def write_song_folder(root: Path, name: str, seconds: float, track_rate: int = RATE, mix_name: str = "mix") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    soundfile.write(folder / "Kick.wav", tone(seconds, 60, rate=track_rate), track_rate)
    soundfile.write(folder / "Snare Top.flac", tone(seconds, 200), RATE)
    soundfile.write(folder / f"{mix_name}.wav", tone(seconds, 80, channels=2), RATE)


def test_folder_builder(tmp_path, capsys):
    root = tmp_path / "sessions"
    write_song_folder(root, "song_a", 2.0)
    write_song_folder(root, "song_b", 1.2, track_rate=48_000)
    out = tmp_path / "folder-dataset"
    assert main(["data", "build", "folder", str(root), str(out), "--license", "cc-by-4.0",
                 "--train-shards", "1"]) == 0
    assert card_yaml(out)["license"] == "cc-by-4.0"
    rows = [row for split_rows in rows_by_split(out).values() for row in split_rows]
    assert sorted({row["song_id"] for row in rows}) == ["song_a", "song_b"]
    for row in rows:
        assert row["track_names"] == ["Kick", "Snare Top"] and row["dry_mix"] is None
        kick, rate = decode_audio(row["tracks"][0])
        mix, _ = decode_audio(row["wet_mix"])
        assert rate == RATE and kick.shape[-1] == mix.shape[-1]  # the 48 kHz kick resampled to the mix's rate


def test_folder_builder_errors(tmp_path, capsys):
    root = tmp_path / "sessions"
    write_song_folder(root, "song_a", 1.0, mix_name="reference")
    assert main(["data", "build", "folder", str(root), str(tmp_path / "out")]) == 1
    assert "expected one mix file named mix.<ext>" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["data", "build", "folder", str(root), str(tmp_path / "out2"), "--mix-name", "reference"]) == 0
    assert main(["data", "build", "folder", str(root), str(tmp_path / "out2"), "--mix-name", "reference"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["data", "build", "enst", str(root), str(tmp_path / "out3")]) == 1
    assert "expected the ENST-drums layout" in capsys.readouterr().err


def test_interrupted_build_leaves_no_shards(tmp_path):
    def songs():
        song = Song("a", {"kick": tone(1.0, 60)}, tone(1.0, 60, channels=2).T, None, RATE, "test", "cc0")
        yield "train", song
        raise KeyboardInterrupt

    description = DatasetDescription("test", "cc0", "made in a test")
    with pytest.raises(KeyboardInterrupt):
        build_dataset(with_rows(songs()), tmp_path / "out", description, train_shards=2)
    assert not (tmp_path / "out").exists()


def test_push_and_stream_from_the_hub(hub_server, tmp_path, capsys):
    root = tmp_path / "sessions"
    for index in range(4):
        write_song_folder(root, f"song_{index}", 1.0)
    out = tmp_path / "dataset"
    assert main(["data", "build", "folder", str(root), str(out), "--train-shards", "2"]) == 0
    assert main(["data", "push", str(out), "someorg/tiny-sessions", "--private"]) == 0
    assert "uploaded" in capsys.readouterr().out
    from huggingface_hub import HfApi

    assert HfApi().dataset_info("someorg/tiny-sessions").private
    local = {row["song_id"] for split_rows in rows_by_split(out).values() for row in split_rows}
    remote = {row["song_id"] for split in DATASET_SPLITS for row in open_split("someorg/tiny-sessions", split)}
    assert remote == local == {f"song_{index}" for index in range(4)}
    assert main(["data", "push", str(tmp_path), "someorg/nothing"]) == 1
    assert "expected a built dataset" in capsys.readouterr().err


#: Prepended to a child process's script: importing torchcodec fails there.
BLOCK_TORCHCODEC = """
import importlib.abc, importlib.machinery, sys

class Blocker(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torchcodec":
            return importlib.machinery.ModuleSpec(name, self)
    def create_module(self, spec):
        raise ImportError("torchcodec is blocked in this test")
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, Blocker())
"""


def test_writing_and_reading_need_no_torchcodec_or_ffmpeg(tmp_path):
    """Build and stream a dataset in a process where importing torchcodec fails."""
    script = BLOCK_TORCHCODEC + f"""
import numpy as np
from mixwave_hf.data.builders import build_dataset, with_rows
from mixwave_hf.data.dataset_card import DatasetDescription
from mixwave_hf.data.schema import Song, decode_audio, open_split

mix = np.full((2, 4410), 0.1, np.float32)
song = Song("a", {{"kick": np.full(4410, 0.1, np.float32)}}, mix, None, 44100, "t", "cc0")
build_dataset(with_rows([("train", song)]), {str(tmp_path / "out")!r}, DatasetDescription("t", "cc0", "test"),
              train_shards=1)
row = next(iter(open_split({str(tmp_path / "out")!r}, "train")))
assert decode_audio(row["wet_mix"])[0].shape == (2, 4410)
assert "torchcodec.encoders" not in sys.modules
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_synth_builder_renders_a_tiny_corpus_with_every_split(tmp_path, capsys):
    pytest.importorskip("tinysoundfont")
    from mixwave_hf.data.synth import KITS, SESSION_RECIPE, kit_installed

    if not all(kit_installed(name) for name in KITS):
        pytest.skip("the soundfonts are not installed (make data)")
    out = tmp_path / "synth"
    assert main(["data", "build", "synth", str(out), "--hours", "0.01", "--seed", "3", "--workers", "2",
                 "--train-shards", "2"]) == 0
    assert "wrote" in capsys.readouterr().out
    rows = rows_by_split(out)
    assert all(rows[split] for split in DATASET_SPLITS)
    assert {row["kit"] for row in rows["test"]}.isdisjoint({row["kit"] for row in rows["train"]})
    assert {row["kit"] for row in rows["test"]} <= set(SESSION_RECIPE.split_kits["test"])
    for row in rows["train"][:1]:
        assert row["seed"] >= 0 and row["source"] == "mixwave-hf synthetic drums"
        assert len(row["track_names"]) == 8 and row["dry_mix"] is not None
        assert json.loads(row["metadata"])["seed"] == row["seed"]
    card = card_yaml(out)
    # Kits of several licences (CC-BY-SA, MIT, GPL-2.0 in the held-out splits): each row carries its kit's.
    assert card["license"] == "other" and "synthetic" in card["tags"]
    readme = (out / "README.md").read_text()
    assert "CC-BY-SA" in readme and "GPL-2.0" in readme and "audience" in readme
    assert {row["license"] for row in rows["test"]} <= {"CC-BY-SA-3.0", "GPL-2.0", "GPL-2.0-or-later"}


def test_the_dataset_cards_plain_datasets_example_runs_without_torchcodec(tmp_path):
    """The card's ```python block, on a built folder in place of THIS_REPO, in a process where torchcodec is
    blocked: plain `datasets` users read the audio with decode=False + soundfile."""
    from mixwave_hf.data.builders import build_dataset, with_rows
    from mixwave_hf.data.dataset_card import DatasetDescription
    from mixwave_hf.data.schema import Song

    mix = np.full((2, 4410), 0.1, np.float32)
    song = Song("a", {"kick": np.full(4410, 0.1, np.float32)}, mix, None, 44100, "t", "cc0")
    out = tmp_path / "out"
    build_dataset(with_rows([("train", song)]), out, DatasetDescription("t", "cc0", "test"), train_shards=1)
    card = (out / "README.md").read_text()
    assert "pip install 'datasets[audio]'" in card and "decode=False" in card
    code = card.split("```python\n")[1].split("\n```")[0].replace("THIS_REPO", str(out))
    script = BLOCK_TORCHCODEC + f"""
{code}
assert mix.shape == (4410, 2) and rate == 44100 and audio.shape == (4410,)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]
