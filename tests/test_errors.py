"""Issue 20: no silent wrong result, no traceback, no misleading reason. Each case runs the real command
(`mixwave_hf.cli.main`) or the Python API on tiny files and checks the exit status and the one line naming
the input (for the API: the exception's type and message). Training's cases: tests/test_training.py.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mixwave_hf.audio import AudioError, read_audio, read_tracks
from mixwave_hf.cli import main
from mixwave_hf.model import MixWaveUNet, ModelLoadError

RATE = 44_100


def write_tone(path: Path, seconds: float = 0.3, rate: int = RATE, channels: int = 1) -> Path:
    """A short noise burst as a float WAV (`rate` written into its header as it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = 0.1 * np.random.default_rng(len(path.name)).standard_normal((int(seconds * RATE), channels))
    soundfile.write(path, audio.astype(np.float32), rate, subtype="FLOAT")
    return path


def write_stems(folder: Path, names=("kick.wav", "snare.wav", "hihat.wav"), **options) -> Path:
    for name in names:
        write_tone(folder / name, **options)
    return folder


def run(capsys, *args) -> tuple[int, str, str]:
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line(status: int, err: str, message: str) -> None:
    """Exit status 1 and `message` as the whole of stderr, after the prefix."""
    assert status == 1, err
    assert err == f"mixwave: error: {message}\n", err


@pytest.fixture
def loads(monkeypatch, tiny_model_dir) -> list:
    """The models `mixwave_hf.cli` loaded (the tiny model whatever is asked): empty when a command stops first."""
    from mixwave_hf.cli import commands as cli

    loaded, load = [], cli.load_model
    monkeypatch.setattr(cli, "load_model", lambda name: loaded.append(name) or load(str(tiny_model_dir)))
    return loaded


# ---- files that cannot be read are named, never left out ----------------------------------------------------

def make_broken_link(path: Path) -> str:
    path.symlink_to("missing.wav")
    return "a broken symbolic link (to missing.wav)"


def make_link_loop(path: Path) -> str:
    path.symlink_to(path.name)
    return "a symbolic link loop"


def make_fifo(path: Path) -> str:
    os.mkfifo(path)  # opening it to read would wait for a writer forever
    return "not a regular file (a FIFO)"


@pytest.mark.parametrize("make", [make_broken_link, make_link_loop, make_fifo])
def test_a_stem_that_is_no_regular_file_is_named_not_left_out(tmp_path, capsys, loads, make):
    stems = write_stems(tmp_path / "stems", ("snare.wav", "hihat.wav"))
    problem = make(stems / "kick.wav")
    status, out, err = run(capsys, "mix", stems, "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, f"{stems / 'kick.wav'}: {problem}; expected an audio file")
    assert f"kick        <- {stems / 'kick.wav'}" in out and not (tmp_path / "mix.wav").exists()


def test_a_mapped_or_listed_file_that_is_no_regular_file_says_what_it_is(tmp_path, capsys, loads):
    stems = write_stems(tmp_path / "stems", ("snare.wav",))
    make_broken_link(tmp_path / "beater.wav")
    status, _, err = run(capsys, "mix", stems, "--map", f"kick={tmp_path / 'beater.wav'}", "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, f"--map kick={tmp_path / 'beater.wav'}: {tmp_path / 'beater.wav'}: a broken symbolic "
                    "link (to missing.wav); expected an audio file")
    status, _, err = run(capsys, "mix", "/dev/null", stems / "snare.wav", "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, "/dev/null: not a regular file (a character device); expected an audio file or a "
                    "folder of them")
    make_fifo(tmp_path / "kick.wav")
    status, _, err = run(capsys, "mix", tmp_path / "kick.wav", "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, f"{tmp_path / 'kick.wav'}: not a regular file (a FIFO); expected an audio file or a "
                    "folder of them")
    status, _, err = run(capsys, "mix", tmp_path / "nowhere", "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, f"{tmp_path / 'nowhere'}: no such file or folder; expected an audio file or a folder "
                    "of them")


def test_read_audio_names_what_a_path_is(tmp_path):
    make_fifo(tmp_path / "pipe.wav")
    with pytest.raises(AudioError, match=r"^/dev/null: not a regular file \(a character device\); expected an audio"):
        read_audio("/dev/null")
    with pytest.raises(AudioError, match=r"pipe\.wav: not a regular file \(a FIFO\); expected an audio file$"):
        read_audio(tmp_path / "pipe.wav")
    with pytest.raises(AudioError, match=r"nothing\.wav: no such file; expected an audio file$"):
        read_audio(tmp_path / "nothing.wav")


# ---- permission denied is not a format problem ---------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_stem_without_read_permission_is_permission_denied(tmp_path, capsys, loads):
    stems = write_stems(tmp_path / "stems")
    (stems / "kick.wav").chmod(0)
    try:
        status, _, err = run(capsys, "mix", stems, "-o", tmp_path / "mix.wav")
    finally:
        (stems / "kick.wav").chmod(0o644)
    assert_one_line(status, err, f"{stems / 'kick.wav'}: permission denied; expected an audio file")


def test_permission_denied_is_reported_as_such(tmp_path, capsys, loads, monkeypatch):
    """The same as the test above where it cannot run (as root): `os.access` answers as for another user."""
    stems = write_stems(tmp_path / "stems")
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: access(path, mode, **kw) and
                        not (Path(path).name == "kick.wav" and mode == os.R_OK))
    with pytest.raises(AudioError, match=r"kick\.wav: permission denied; expected an audio file$"):
        read_audio(stems / "kick.wav")
    status, _, err = run(capsys, "mix", stems, "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, f"{stems / 'kick.wav'}: permission denied; expected an audio file")


# ---- sample rates a header cannot mean -----------------------------------------------------------------------

def test_a_lone_file_at_1000_hz_is_refused(tmp_path, capsys, loads):
    kick = write_tone(tmp_path / "kick.wav", rate=1000)
    status, _, err = run(capsys, "mix", kick, "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, f"{kick}: 1000 Hz in its header; expected 8000-384000 Hz: the header is probably "
                    "damaged (re-export the file at its real rate)")
    assert not (tmp_path / "mix.wav").exists()


def test_a_4_s_file_whose_header_says_1_hz_is_refused_not_made_a_49_hour_song(tmp_path, capsys, loads):
    stems = write_stems(tmp_path / "stems", ("snare.wav", "hihat.wav"), seconds=4.0)
    write_tone(stems / "kick.wav", seconds=4.0, rate=1)
    status, _, err = run(capsys, "mix", stems, "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, f"{stems / 'kick.wav'}: 1 Hz in its header; expected 8000-384000 Hz: the header is "
                    "probably damaged (re-export the file at its real rate)")
    with pytest.raises(AudioError, match=r"kick\.wav: 1 Hz in its header; expected 8000-384000 Hz"):
        read_tracks({"kick": stems / "kick.wav", "snare": stems / "snare.wav"})


def test_a_rate_that_makes_a_file_far_longer_than_the_others_is_flagged(tmp_path, capsys, loads):
    """0.3 s of samples at 96 kHz, but the kick's header says 8 kHz: a 3.6 s kick beside 0.3 s tracks."""
    stems = write_stems(tmp_path / "stems", ("snare.wav",), rate=96_000)
    write_tone(stems / "hihat.wav", seconds=0.2, rate=96_000)
    write_tone(stems / "kick.wav", rate=8_000)
    seconds = 0.3 * RATE / 8_000
    longest = 0.3 * RATE / 96_000
    expected = (f"{stems / 'kick.wav'}: 8000 Hz in its header makes it {seconds:.2f} s long, {stems / 'snare.wav'} "
                f"{longest:.2f} s at 96000 Hz; the header's rate is probably wrong (re-export the file at its real "
                "rate)")
    status, _, err = run(capsys, "mix", stems, "-o", tmp_path / "mix.wav")
    assert status == 0 and f"warning: {expected}\n" in err, err
    _, _, warnings = read_tracks({"kick": stems / "kick.wav", "snare": stems / "snare.wav"})
    assert expected in warnings
    _, _, warnings = read_tracks({"snare": stems / "snare.wav", "hihat": stems / "hihat.wav"})
    assert not any("header's rate" in warning for warning in warnings)


# ---- memory and names the file system refuses ----------------------------------------------------------------

def test_a_song_too_long_for_memory_is_one_line(tmp_path, capsys, loads, monkeypatch):
    from mixwave_hf.cli import commands as cli

    def out_of_memory(*args, **options):
        raise MemoryError

    stems = write_stems(tmp_path / "stems", ("kick.wav", "snare.wav"))
    monkeypatch.setattr(cli, "mix_files", out_of_memory)
    status, _, err = run(capsys, "mix", stems, "-o", tmp_path / "mix.wav")
    assert_one_line(status, err, "mixing 0 s (0.0 min) of 2 tracks (kick, snare) at 44100 Hz ran out of memory; it "
                    "needs more memory, or a shorter song (mix it in parts)")


def test_a_bug_below_the_command_line_shows_its_traceback(tmp_path, capsys, loads, monkeypatch):
    """Only a MixwaveError is the user's mistake: a plain ValueError from below is a bug, and is raised as it is,
    never printed as `mixwave: error: ...`."""
    from mixwave_hf.cli import commands
    from mixwave_hf.errors import MixwaveError

    def bug(*args, **options):
        raise ValueError("a bug, not the user's input")

    stems = write_stems(tmp_path / "stems", ("kick.wav", "snare.wav"))
    monkeypatch.setattr(commands, "mix_files", bug)
    with pytest.raises(ValueError, match="a bug") as raised:
        run(capsys, "mix", stems, "-o", tmp_path / "mix.wav")
    assert not isinstance(raised.value, MixwaveError) and "mixwave: error" not in capsys.readouterr().err


def test_the_domain_errors_are_one_family():
    from mixwave_hf.audio import AudioError
    from mixwave_hf.card import CardError
    from mixwave_hf.cli.checks import CommandError
    from mixwave_hf.data.builders import BuildError
    from mixwave_hf.data.schema import DatasetError
    from mixwave_hf.data.synth.hydrogen import DrumkitError
    from mixwave_hf.data.synth.kits import KitNotInstalledError
    from mixwave_hf.errors import InputError, MixwaveError
    from mixwave_hf.model import ModelLoadError
    from mixwave_hf.training.config import ConfigError

    errors = [AudioError, CardError, CommandError, BuildError, DatasetError, DrumkitError, KitNotInstalledError,
              InputError, ModelLoadError, ConfigError]
    assert all(issubclass(error, MixwaveError) for error in errors)
    assert all(issubclass(error, ValueError) for error in errors if error not in (CommandError, KitNotInstalledError))
    assert issubclass(KitNotInstalledError, FileNotFoundError)


def test_an_output_name_longer_than_the_file_system_takes_is_refused_first(tmp_path, capsys, loads):
    stems = write_stems(tmp_path / "stems", ("kick.wav",))
    name = "m" * 248 + ".wav"  # fits (252 bytes), but not as .NAME.partial.wav while it is written
    status, _, err = run(capsys, "mix", stems, "-o", tmp_path / name)
    assert_one_line(status, err, f"{tmp_path / name}: the name is 252 bytes long, 261 while it is written (as "
                    ".NAME.partial.EXT); this file system takes names of up to 255 bytes: choose a shorter name")
    long_folder = "f" * 300
    status, _, err = run(capsys, "mix", stems, "-o", tmp_path / long_folder / "mix.wav")
    assert_one_line(status, err, f"{tmp_path / long_folder / 'mix.wav'}: the folder name {'f' * 24}... is 300 bytes "
                    "long; this file system takes names of up to 255 bytes: choose a shorter one")
    assert loads == []


# ---- model folders -------------------------------------------------------------------------------------------

def damage_model(folder: Path, damage: str) -> str:
    """Damage a saved model folder; returns the file the error must name and what it must say."""
    config = folder / "config.json"
    weights = folder / "model.safetensors"
    if damage == "no config":
        config.unlink()
        return f"{folder}: the folder holds no config.json; expected a folder written by save_pretrained"
    if damage == "config not JSON":
        config.write_text('{"levels": 4,')
        return f"{config}: not JSON (Expecting property name enclosed in double quotes"
    if damage == "config a list":
        config.write_text("[]")
        return f"{config}: a JSON list; expected an object of the model's options"
    if damage == "mistyped option":
        config.write_text(json.dumps({**json.loads(config.read_text()), "levels": "four"}))
        return f"{config}: levels='four'; expected an integer"
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        return (f"{weights}: cannot be read (Error while deserializing header: incomplete metadata, file not fully "
                "covered); the file is probably truncated or damaged")
    weights.write_bytes(b"not safetensors" * 10)
    return f"{weights}: cannot be read (Error while deserializing header"


DAMAGES = ["no config", "config not JSON", "config a list", "mistyped option", "truncated weights", "garbage weights"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_from_pretrained_names_the_folder_and_the_damaged_file(tmp_path, damage):
    MixWaveUNet(levels=2, base_channels=2).save_pretrained(tmp_path)
    expected = damage_model(tmp_path, damage)
    with pytest.raises(ModelLoadError) as raised:
        MixWaveUNet.from_pretrained(tmp_path)
    assert isinstance(raised.value, ValueError) and str(raised.value).startswith(expected), raised.value
    assert "\n" not in str(raised.value)  # was a 37-line size-mismatch dump without config.json


@pytest.mark.parametrize("damage", ["no config", "truncated weights"])
def test_mix_with_a_damaged_model_folder_is_one_line(tmp_path, capsys, damage):
    model_dir = tmp_path / "model"
    MixWaveUNet(levels=2, base_channels=2).save_pretrained(model_dir)
    expected = damage_model(model_dir, damage)
    stems = write_stems(tmp_path / "stems", ("kick.wav",))
    status, _, err = run(capsys, "mix", stems, "-o", tmp_path / "mix.wav", "--model", model_dir)
    assert status == 1 and err.startswith(f"mixwave: error: --model {expected}") and err.count("\n") == 1, err


# ---- mixwave evaluate ----------------------------------------------------------------------------------------

def write_dataset(folder: Path) -> Path:
    from mixwave_hf.data.schema import DatasetWriter, Song, song_rows

    rng = np.random.default_rng(0)
    tracks = {name: (0.1 * rng.standard_normal(RATE)).astype(np.float32) for name in ("kick", "snare")}
    song = Song("song_0", tracks, np.stack([tracks["kick"], tracks["snare"]]), None, RATE, "test", "cc0")
    writer = DatasetWriter(folder, {"test": 1})
    for row in song_rows(song, 0.5):
        writer.write("test", row)
    writer.close()
    return folder


def test_evaluate_a_dataset_that_does_not_exist_stops_before_loading_the_model(tmp_path, capsys, loads):
    missing = tmp_path / "runs" / "nosuch_ds"
    status, _, err = run(capsys, "evaluate", "--dataset", missing, "--split", "test", "--output", tmp_path / "e.json")
    assert_one_line(status, err, f"{missing}: neither a folder here nor reachable as a Hub dataset id "
                    f"(FileNotFoundError: Couldn't find any data file at {missing}.); expected a folder built by "
                    "`mixwave data build` or a Hub dataset id such as org/name")
    assert loads == []


def test_evaluate_a_hub_id_the_hub_does_not_have_is_one_line(hub_server, tmp_path, capsys, loads):
    status, _, err = run(capsys, "evaluate", "--dataset", "nosuch_ds", "--output", tmp_path / "e.json")
    assert status == 1 and err.startswith("mixwave: error: nosuch_ds: neither a folder here nor reachable as a Hub "
                                          "dataset id (") and err.count("\n") == 1, err
    assert loads == []


def test_evaluate_names_a_damaged_parquet_shard(tmp_path, capsys, loads):
    dataset = write_dataset(tmp_path / "dataset")
    shard = dataset / "data" / "test-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-100])  # the footer cut off, as by an interrupted copy
    status, _, err = run(capsys, "evaluate", "--dataset", dataset, "--split", "test", "--output", tmp_path / "e.json")
    assert_one_line(status, err, f"{shard}: not a readable parquet shard (ArrowInvalid: Parquet magic bytes not found "
                    "in footer. Either the file is corrupted or this is not a parquet file.); the file is probably "
                    "truncated or damaged: build the dataset again (or download it again)")
    assert loads == []


def test_evaluate_warns_when_the_reference_is_not_as_long_as_the_stems(tmp_path, capsys, loads):
    stems = write_stems(tmp_path / "stems", ("kick.wav", "snare.wav"), seconds=1.0)
    reference = write_tone(tmp_path / "reference.wav", seconds=1.5, channels=2)
    status, _, err = run(capsys, "evaluate", "--stems", stems, "--reference", reference, "--output",
                         tmp_path / "e.json")
    assert status == 0, err
    assert (f"warning: --reference {reference}: 1.50 s long, the stems 1.00 s: the mixes are cut or padded with "
            "silence to the reference's length to be scored\n") in err
    write_tone(reference, seconds=1.0, channels=2)
    status, _, err = run(capsys, "evaluate", "--stems", stems, "--reference", reference, "--output",
                         tmp_path / "e.json")
    assert status == 0 and "--reference" not in err, err


# ---- mixwave data build ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("option", ["--segment-seconds", "--hours"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_data_build_synth_refuses_a_non_finite_number(tmp_path, capsys, option, value):
    extra = [option, value] if option == "--hours" else ["--hours", "0.01", option, value]
    status, _, err = run(capsys, "data", "build", "synth", tmp_path / "out", *extra)
    assert_one_line(status, err, f"{option} {value}; expected a positive finite number")
    assert not (tmp_path / "out").exists()


def test_data_build_folder_notes_what_it_did_to_lengths_and_rates(tmp_path, capsys):
    root = tmp_path / "sessions"
    write_tone(root / "song_a" / "kick.wav", seconds=1.0)
    write_tone(root / "song_a" / "snare.wav", seconds=0.5)
    write_tone(root / "song_a" / "mix.wav", seconds=1.5, channels=2)
    soundfile.write(root / "song_a" / "hihat.wav", np.zeros(48_000, np.float32), 48_000)
    write_tone(root / "song_b" / "kick.wav", seconds=1.0)
    write_tone(root / "song_b" / "mix.wav", seconds=1.0, channels=2)
    status, out, err = run(capsys, "data", "build", "folder", root, tmp_path / "out", "--train-shards", "1")
    assert status == 0, err
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert notes == ["note: song_a: hihat.wav at 48000 Hz: resampled to the mix's 44100 Hz",
                     "note: song_a: tracks of different lengths: snare.wav 0.50 s padded with silence to 1.00 s",
                     "note: song_a: mix.wav is 1.50 s long, the tracks 1.00 s: the mix is cut to the tracks' length"]


def test_data_build_folder_names_a_broken_link_among_a_songs_files(tmp_path, capsys):
    root = tmp_path / "sessions"
    write_tone(root / "song_a" / "mix.wav", channels=2)
    write_tone(root / "song_a" / "snare.wav")
    make_broken_link(root / "song_a" / "kick.wav")
    status, _, err = run(capsys, "data", "build", "folder", root, tmp_path / "out")
    assert status == 1 and err.endswith(f"\nmixwave: error: {root / 'song_a' / 'kick.wav'}: a broken symbolic link "
                                        "(to missing.wav); expected an audio file\n"), err  # after the progress bar
    assert not (tmp_path / "out").exists()
