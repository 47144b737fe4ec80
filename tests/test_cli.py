"""`mixwave mix` end to end on generated files: the real console script, then each bad input."""

import errno
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from drums import synthesize_drum_tracks

from mixwave_hf.cli import main
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.resources import EXAMPLE_FILE_NAMES, example_stems

RATE = 44_100


@pytest.fixture(scope="module")
def drum_tracks() -> dict[str, np.ndarray]:
    return synthesize_drum_tracks(seconds=1.5, sample_rate=RATE, seed=3)


def write_stems(directory: Path, tracks: dict[str, np.ndarray], rate: int = RATE, names=None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for slot, audio in tracks.items():
        name = (names or {}).get(slot, f"{slot}.wav")
        soundfile.write(directory / name, audio, rate, subtype="FLOAT")
    return directory


def run(*args, capsys) -> tuple[int, str, str]:
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_console_script_mixes_the_bundled_example(tiny_model_dir, tmp_path):
    script = Path(sys.executable).parent / "mixwave"
    stems = example_stems()
    assert all(path.exists() for path in stems) and len(stems) == len(EXAMPLE_FILE_NAMES)
    output = tmp_path / "mix.wav"
    result = subprocess.run([script, "mix", stems[0].parent, "-o", output, "--model", tiny_model_dir],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "kick        <- " in result.stdout and "06_FloorTom.flac" in result.stdout
    audio, rate = soundfile.read(output, always_2d=True)
    info = soundfile.info(output)
    assert rate == RATE and audio.shape == (4 * RATE, 2) and info.subtype == "FLOAT"
    assert np.abs(audio).max() > 0


def test_mix_writes_24_bit_at_the_input_rate(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", drum_tracks, rate=48_000)
    output = tmp_path / "out" / "mix.wav"
    status, out, err = run("mix", stems, "-o", output, "--model", tiny_model_dir, "--format", "pcm24", capsys=capsys)
    assert status == 0, err
    info = soundfile.info(output)
    expected = (48_000, 2, len(drum_tracks["kick"]), "PCM_24")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == expected
    assert "wrote" in out and "0 clipped samples" in out


def test_mix_of_files_listed_one_by_one_and_map(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", drum_tracks, names={"kick": "beater.wav"})
    output = tmp_path / "mix.wav"
    files = sorted(stems.iterdir())
    status, out, err = run("mix", *files, "-o", output, "--model", tiny_model_dir,
                           "--map", f"kick={stems / 'beater.wav'}",
                           capsys=capsys)
    assert status == 0, err
    assert f"kick        <- {stems / 'beater.wav'}" in out
    reference = tmp_path / "reference.wav"
    assert run("mix", stems, "-o", reference, "--model", tiny_model_dir, "--map", f"bd={stems / 'beater.wav'}",
               capsys=capsys)[0] == 0
    np.testing.assert_array_equal(soundfile.read(output)[0], soundfile.read(reference)[0])


def test_warnings_exit_zero_and_say_what_was_done(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"], "reference_mix": drum_tracks["snare"]})
    soundfile.write(stems / "snare.wav", drum_tracks["snare"][: RATE // 2], 22_050)
    soundfile.write(stems / "hihat.wav", np.stack([drum_tracks["hihat"]] * 2, axis=1), RATE)
    (stems / "notes.txt").write_text("session notes")
    status, out, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 0, err
    assert "no slot matches" in err and "reference_mix.wav" in err and "overhead_L" in err
    assert "different sample rates (22050 Hz, 44100 Hz): each resampled to 44100 Hz" in err
    assert "padded with silence" in err
    assert "hihat: stereo; downmixed to mono" in err
    assert "notes.txt" in out


def test_silent_tracks_write_silence(tiny_model_dir, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", {"kick": np.zeros(RATE, np.float32)})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 0 and "silent" in err
    assert not soundfile.read(tmp_path / "mix.wav")[0].any()


def test_unreadable_file_is_an_error_naming_it(tiny_model_dir, tmp_path, capsys):
    stems = tmp_path / "stems"
    stems.mkdir()
    (stems / "kick.wav").write_bytes(b"RIFF not really a wave file")
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and "kick.wav: cannot be read as audio" in err and "expected a WAV, FLAC" in err
    assert not (tmp_path / "mix.wav").exists()


def test_non_audio_file_named_explicitly_is_an_error(tiny_model_dir, tmp_path, capsys):
    notes = tmp_path / "kick.txt"
    notes.write_text("not audio")
    status, _, err = run("mix", notes, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and "kick.txt: cannot be read as audio" in err


def test_no_matching_file_is_an_error(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", {"room": drum_tracks["kick"]})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and "no file matches any slot" in err and "room.wav" in err and "--map" in err


def test_two_files_for_one_slot_is_an_error(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"], "bd": drum_tracks["kick"]})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and "bd.wav and" in err and "kick.wav both match slot 'kick'" in err


def test_nan_samples_are_an_error(tiny_model_dir, tmp_path, capsys):
    audio = np.zeros(1_000, np.float32)
    audio[10] = np.nan
    stems = write_stems(tmp_path / "stems", {"snare": audio})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and "snare.wav: 1 NaN or infinite samples" in err


@pytest.mark.parametrize("args,message", [
    (["--map", "cowbell=x.wav"], "unknown slot 'cowbell'"),
    (["--map", "kick"], "expected SLOT=FILE"),
    (["--window-seconds", "0"], "--window-seconds 0"),
    (["--device", "gpu7"], "--device gpu7: not a torch device"),
])
def test_bad_options_are_errors(tiny_model_dir, drum_tracks, tmp_path, capsys, args, message):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"]})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, *args, capsys=capsys)
    assert status == 1 and message in err


def test_missing_model_and_missing_input_are_errors(tiny_model_dir, tmp_path, capsys):
    status, _, err = run("mix", tmp_path / "nowhere", "-o", tmp_path / "mix.wav", "--model", tiny_model_dir,
                         capsys=capsys)
    assert status == 1 and "no such file or folder" in err
    status, _, err = run("mix", tmp_path, "-o", tmp_path / "mix.wav", "--model", tmp_path, capsys=capsys)
    assert status == 1 and "holds no model.safetensors" in err


def test_mix_with_a_model_from_the_hub(hub_server, drum_tracks, tmp_path, capsys):
    torch.manual_seed(5)
    model = MixWaveUNet(levels=3, base_channels=4)
    model.push_to_hub("someorg/cli-mixer")
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"], "snare": drum_tracks["snare"]})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", "someorg/cli-mixer", capsys=capsys)
    assert status == 0, err
    expected = model.mix({"kick": drum_tracks["kick"], "snare": drum_tracks["snare"]}, RATE).audio
    np.testing.assert_allclose(soundfile.read(tmp_path / "mix.wav", always_2d=True)[0].T, expected, atol=1e-6)
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", "someorg/no-such-model", capsys=capsys)
    assert status == 1 and "--model someorg/no-such-model: cannot load a model" in err


def test_a_hot_mix_is_limited_to_the_ceiling_or_clipped_with_no_limiter(drum_tracks, tmp_path, capsys):
    import torch

    from mixwave_hf.model import MixWaveUNet

    hot = MixWaveUNet(levels=3, base_channels=2)
    with torch.no_grad():
        hot.output.bias[0] = 2.0  # the left channel sits far above full scale
    hot.save_pretrained(tmp_path / "hot")
    stems = write_stems(tmp_path / "stems", drum_tracks)
    status, out, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tmp_path / "hot", capsys=capsys)
    assert status == 0 and "peak limiter" in err and "-1.0 dBFS" in out and " 0 clipped samples" in out
    assert np.abs(soundfile.read(tmp_path / "mix.wav")[0]).max() <= 10 ** (-1 / 20) + 1e-6
    status, out, err = run("mix", stems, "-o", tmp_path / "clipped.wav", "--model", tmp_path / "hot",
                           "--no-limiter", capsys=capsys)
    assert status == 0 and "clipped to [-1, 1]" in err and "peak +0.0 dBFS" in out
    status, out, err = run("mix", stems, "-o", tmp_path / "x.wav", "--model", tmp_path / "hot",
                           "--peak-ceiling", "3", capsys=capsys)
    assert status == 1 and "peak_ceiling_db=3.0" in err


@pytest.mark.parametrize("left,right", [("OH L", "OH R"), ("Overheads L", "Overheads R"),
                                        ("Overhead 1", "Overhead 2")])
def test_a_real_session_mixes_the_primary_mics_and_notes_the_rest(tiny_model_dir, drum_tracks, tmp_path, capsys,
                                                                   left, right):
    primary = {"Kick In": "kick", "Snare Top": "snare", "Hi Hat": "hihat", "Tom 1": "tom_1", "Tom 2": "tom_2",
               "Floor Tom": "tom_3", left: "overhead_L", right: "overhead_R"}
    others = ["Kick Out", "Snare Bottom", "Room L", "Room R"]  # each a different sound from the primaries'
    stems = tmp_path / "session"
    stems.mkdir()
    for name, slot in primary.items():
        soundfile.write(stems / f"{name}.wav", drum_tracks[slot], RATE, subtype="FLOAT")
    for name in others:
        soundfile.write(stems / f"{name}.wav", drum_tracks["overhead_L"][::-1].copy(), RATE, subtype="FLOAT")
    status, out, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 0, err
    for name, slot in primary.items():
        assert f"  {slot:<11} <- {stems / name}.wav" in out
    assert f"note: {stems}/Kick Out.wav left out: kick takes {stems}/Kick In.wav; 'out' marks a secondary mic" in out
    assert f"{stems}/Snare Bottom.wav left out: snare takes {stems}/Snare Top.wav; 'bottom'" in out
    assert f"note: {stems}/Room L.wav, {stems}/Room R.wav left out: room mics are not model inputs" in out
    assert ("1 = left, 2 = right" in out) == left.endswith("1")
    assert "no slot matches" not in err
    expected = MixWaveUNet.from_pretrained(tiny_model_dir).mix(drum_tracks, RATE).audio
    np.testing.assert_allclose(soundfile.read(tmp_path / "mix.wav", always_2d=True)[0].T, expected, atol=1e-6)


# ---- output problems are found before anything is read or mixed -----------------------------------------


@pytest.fixture
def no_mixing(monkeypatch):
    """Fail the test if the command gets as far as loading a model (so: before reading or mixing stems)."""
    def fail(*args, **kwargs):
        raise AssertionError("the output should have been refused before the model was loaded")

    monkeypatch.setattr("mixwave_hf.cli.commands.load_model", fail)


def assert_one_line_error(status: int, err: str, path: Path) -> None:
    assert status == 1, err
    assert err.startswith("mixwave: error: ") and err.count("\n") == 1, err
    assert str(path) in err and "Traceback" not in err and f".{path.stem}." not in err


@pytest.mark.parametrize("name,format_,message", [
    ("mix.mp3", "pcm24", ".mp3 output is not supported"),
    ("mix.ogg", "pcm16", ".ogg output is not supported"),
    ("mix.txt", "float", "unknown output extension '.txt'"),
    ("mix", "pcm24", "no file extension"),
    ("mix.flac", "float", "FLAC cannot hold float samples"),
])
def test_output_names_that_cannot_be_written_are_refused_first(no_mixing, drum_tracks, tmp_path, capsys,
                                                               name, format_, message):
    from mixwave_hf.audio import output_encoding

    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"]})
    output = tmp_path / name
    status, _, err = run("mix", stems, "-o", output, "--format", format_, capsys=capsys)
    assert_one_line_error(status, err, output)
    assert message in err and not output.exists()
    # Every suggested combination works: "<.ext> (--format a, b or c)" or "<.ext> with --format a or b".
    word = "(?:float|pcm24|pcm16)"
    suggestions = re.findall(rf"(\.[a-z0-9]+) (?:with |\()--format ({word}(?:(?:, | or ){word})*)", err)
    assert {extension for extension, _ in suggestions} >= {".wav", ".flac"}
    for extension, formats in suggestions:
        for suggested in re.split(", | or ", formats):
            output_encoding(f"mix{extension}", suggested)


def test_output_folder_problems_are_refused_first(no_mixing, drum_tracks, tmp_path, capsys, monkeypatch):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"]})
    folder = tmp_path / "mixes"
    folder.mkdir()
    status, _, err = run("mix", stems, "-o", folder, capsys=capsys)
    assert_one_line_error(status, err, folder)
    assert "is a folder" in err
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    for output in (a_file / "mix.wav", a_file / "deeper" / "mix.wav"):
        status, _, err = run("mix", stems, "-o", output, capsys=capsys)
        assert_one_line_error(status, err, output)
        assert f"{a_file} is a file, not a folder" in err
    # A folder the user may not write to (os.access says so even when the tests run as root) ...
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    status, _, err = run("mix", stems, "-o", folder / "mix.wav", capsys=capsys)
    assert_one_line_error(status, err, folder / "mix.wav")
    assert f"the folder {folder} is not writable" in err
    monkeypatch.undo()
    # ... and one on a read-only file system, where creating a file fails.
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    status, _, err = run("mix", stems, "-o", folder / "mix.wav", capsys=capsys)
    assert_one_line_error(status, err, folder / "mix.wav")
    assert "Read-only file system" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to a read-only folder")
def test_a_read_only_folder_is_refused_first(no_mixing, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"]})
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        status, _, err = run("mix", stems, "-o", folder / "mix.wav", capsys=capsys)
    finally:
        folder.chmod(0o755)
    assert_one_line_error(status, err, folder / "mix.wav")
    assert "not writable" in err


def test_a_failed_write_names_the_output_not_the_temporary_file(tmp_path, monkeypatch):
    from mixwave_hf.cli.checks import CommandError
    from mixwave_hf.cli.commands import write_atomically

    def disk_full(path, *args):
        raise RuntimeError(f"Error opening {str(path)!r}: System error : No space left on device.")

    monkeypatch.setattr("mixwave_hf.cli.commands.write_audio", disk_full)
    output = tmp_path / "mix.wav"
    with pytest.raises(CommandError) as raised:
        write_atomically(output, np.zeros((2, 10), np.float32), RATE, "float")
    assert str(output) in str(raised.value) and ".mix." not in str(raised.value)
    assert "No space left on device" in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.parametrize("args,message", [
    (["--window-seconds", "nan"], "--window-seconds nan"),
    (["--window-seconds", "inf"], "--window-seconds inf"),
    (["--sample-rate", "4000"], "--sample-rate 4000; expected 8000 to 384000 Hz"),
    (["--sample-rate", "1000000"], "--sample-rate 1000000; expected 8000 to 384000 Hz"),
    (["--batch-size", "0"], "--batch-size 0; expected 1 to 64"),
    (["--batch-size", "100000"], "--batch-size 100000; expected 1 to 64"),
])
def test_option_values_out_of_range_are_refused_first(no_mixing, drum_tracks, tmp_path, capsys, args, message):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"]})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", *args, capsys=capsys)
    assert status == 1 and message in err and err.count("\n") == 1, err


def test_a_huge_window_is_capped_and_mixes_the_same(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"]})
    for name, seconds in (("huge.wav", "3600"), ("default.wav", "1.5")):
        status, _, err = run("mix", stems, "-o", tmp_path / name, "--model", tiny_model_dir,
                             "--window-seconds", seconds, capsys=capsys)
        assert status == 0, err
    np.testing.assert_allclose(soundfile.read(tmp_path / "huge.wav")[0], soundfile.read(tmp_path / "default.wav")[0],
                               atol=1e-6)


# ---- files that end early, are empty, or have too many channels ----------------------------------------


def test_truncated_and_empty_files_get_their_own_warnings(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = tmp_path / "stems"
    stems.mkdir()
    kick = stems / "kick.wav"
    soundfile.write(kick, np.resize(drum_tracks["kick"], 2 * RATE), RATE, subtype="PCM_16")
    whole = kick.read_bytes()
    kick.write_bytes(whole[: len(whole) - RATE * 2])  # the header still says 2 s; 1 s of samples is left
    soundfile.write(stems / "snare.wav", np.zeros(0, np.float32), RATE)
    soundfile.write(stems / "hihat.wav", drum_tracks["hihat"][:RATE], RATE)
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 0, err
    assert f"{kick}: file ends early: 1.00 s of 2.00 s read" in err
    assert f"{stems / 'snare.wav'}: empty (0 samples); treated as silence" in err
    assert "warning: snare: empty" not in err  # said once, naming the file
    assert "padded with silence" not in err  # kick and hihat are both 1 s long now; snare is not "shorter"
    assert soundfile.info(tmp_path / "mix.wav").frames == RATE


def test_a_truncated_flac_is_an_error_saying_so(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = tmp_path / "stems"
    stems.mkdir()
    soundfile.write(stems / "kick.flac", np.resize(drum_tracks["kick"], 2 * RATE), RATE, subtype="PCM_16")
    whole = (stems / "kick.flac").read_bytes()
    (stems / "kick.flac").write_bytes(whole[: len(whole) // 2])
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and "kick.flac: cannot be read as audio" in err and "truncated or damaged" in err
    assert err.count("\n") == 1


def test_a_three_channel_file_is_an_error_naming_the_file(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = write_stems(tmp_path / "stems", {"kick": drum_tracks["kick"]})
    soundfile.write(stems / "snare.wav", np.stack([drum_tracks["snare"]] * 3, axis=1), RATE)
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and f"{stems / 'snare.wav'}: 3 channels; expected mono or stereo" in err


def forget_modules(monkeypatch, prefix: str) -> None:
    """Drop `prefix` and its submodules from sys.modules for this test, so that the next import runs again."""
    for name in [name for name in sys.modules if name == prefix or name.startswith(prefix + ".")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.mark.parametrize("missing", ["pedalboard", "datasets", "pyarrow"])
def test_data_build_without_the_data_extra_says_what_to_install(tmp_path, capsys, monkeypatch, missing):
    # As from a plain wheel: the `data` extra's module cannot be imported.
    for module in [missing, "mixwave_hf.data"]:
        forget_modules(monkeypatch, module)
    monkeypatch.setitem(sys.modules, missing, None)
    code = main(["data", "build", "synth", str(tmp_path / "corpus"), "--hours", "0.01", "--workers", "1"])
    message = capsys.readouterr().err
    assert code == 1 and "Traceback" not in message
    assert "`mixwave data build synth` needs " in message and "pip install 'mixwave-hf[data]'" in message


def test_other_missing_modules_are_not_hidden(monkeypatch):
    from mixwave_hf.cli import missing_dependency_hint

    assert missing_dependency_hint("pyarrow.parquet") == "install the `data` extra: pip install 'mixwave-hf[data]'"
    assert "--no-deps tinysoundfont" in missing_dependency_hint("tinysoundfont")
    assert missing_dependency_hint("numpy") is None  # a core dependency: a broken install, shown as it is


def test_trims_and_intensity_from_the_command_line(tiny_model_dir, drum_tracks, tmp_path, capsys):
    """--trim and --intensity reach the mix; bad values are one-line errors before any file is read."""
    from mixwave_hf.mixing import mix_tracks
    from mixwave_hf.model import MixWaveUNet

    stems = write_stems(tmp_path / "stems", drum_tracks)
    output = tmp_path / "mix.wav"
    status, out, err = run("mix", stems, "-o", output, "--model", tiny_model_dir, "--trim", "snare=+2",
                           "--trim", "overheads=-3", "--intensity", "0.5", "--no-limiter", capsys=capsys)
    assert status == 0, err
    model = MixWaveUNet.from_pretrained(tiny_model_dir)
    tracks = {slot: soundfile.read(stems / f"{slot}.wav", dtype="float32")[0] for slot in drum_tracks}
    expected = mix_tracks(model, tracks, RATE, trims={"snare": 2.0, "overheads": -3.0}, intensity=0.5,
                          peak_ceiling_db=None).audio
    np.testing.assert_allclose(soundfile.read(output, dtype="float32")[0].T, expected, atol=1e-6)
    for bad, message in ((["--trim", "snare=+20"], "12"), (["--trim", "cowbell=1"], "cowbell"),
                         (["--trim", "snare"], "SLOT=DB"), (["--intensity", "1.5"], "--intensity 1.5")):
        status, out, err = run("mix", stems, "-o", tmp_path / "x.wav", "--model", tiny_model_dir, *bad, capsys=capsys)
        assert status == 1 and message in err and "Traceback" not in err, (bad, err)


# ---- mixwave train / mixwave demo -----------------------------------------------------------------------

def test_train_takes_exactly_the_options_of_train_accelerate(capsys):
    from mixwave_hf.cli import build_parser
    from mixwave_hf.training import build_parser as training_parser

    def options(parser) -> dict[str, tuple]:
        return {option: (action.dest, action.required, action.default, action.choices)
                for action in parser._actions for option in action.option_strings}

    commands = next(action for action in build_parser()._actions if action.dest == "command")
    commands.choices["train"].add_deferred_arguments()  # added when `mixwave train` is parsed: training loads then
    assert options(commands.choices["train"]) == options(training_parser())
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    assert exit_info.value.code == 0 and help_text.startswith("usage: mixwave train")
    for option in ("--dataset", "--bundle", "--validation-bundle", "--output-dir", "--config", "--set", "--steps",
                   "--init-from", "--resume", "--push-to-hub", "--cpu"):
        assert option in help_text, option


def test_mix_is_parsed_without_importing_the_trainer():
    """A fresh interpreter imports the command line and parses `mixwave mix`: neither the trainer, nor the
    evaluator, the demo or the synthetic renderer is imported (their subcommands import them when they run)."""
    script = ("import sys; from mixwave_hf.cli import build_parser; "
              "build_parser().parse_args(['mix', 'stems', '-o', 'mix.wav']); "
              "print(' '.join(name for name in sys.modules if name.startswith('mixwave_hf')))")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root)})
    modules = result.stdout.split()
    assert "mixwave_hf.cli.commands" in modules and "mixwave_hf.file_mixing" in modules
    heavy = [name for name in modules if name.startswith(("mixwave_hf.training", "mixwave_hf.evaluate",
                                                          "mixwave_hf.demo", "mixwave_hf.data.synth"))]
    assert not heavy, heavy


def test_train_runs_the_training_entry_point_with_its_arguments(tmp_path, capsys, monkeypatch):
    import mixwave_hf.training.cli

    calls = []  # parsed once, by `mixwave train`'s parser; the card's command line gives the arguments back
    monkeypatch.setattr(mixwave_hf.training.cli, "run_training",
                        lambda args, command, prog: calls.append((shlex.split(command)[2:], prog)) or 7)
    arguments = ["--bundle", str(tmp_path / "train.npz"), "--output-dir", str(tmp_path / "run"), "--steps", "2",
                 "--set", "training.batch_size=2"]
    assert main(["train", *arguments]) == 7 and calls == [(arguments, "mixwave train")]
    with pytest.raises(SystemExit) as exit_info:  # checked by the same options before anything runs
        main(["train", "--bundle", "train.npz"])
    assert exit_info.value.code == 2 and "--output-dir" in capsys.readouterr().err and len(calls) == 1


def test_demo_builds_the_app_for_the_model_and_serves_it_where_asked(tiny_model_dir, monkeypatch):
    gradio = pytest.importorskip("gradio", reason="the demo needs the `demo` extra (gradio)")
    import mixwave_hf.demo

    served = []
    monkeypatch.setattr(mixwave_hf.demo, "launch_demo", lambda demo, **options: served.append((demo, options)))
    assert main(["demo", "--model", str(tiny_model_dir), "--host", "127.0.0.1", "--port", "7861"]) == 0
    [(demo, options)] = served
    assert isinstance(demo, gradio.Blocks) and not demo.is_running
    assert options == {"server_name": "127.0.0.1", "server_port": 7861}
    assert f"Model: {tiny_model_dir}" in str(demo.config)
    assert main(["demo"]) == 0 and served[1][1] == {"server_name": None, "server_port": None}  # Gradio's defaults


def test_demo_without_the_demo_extra_says_what_to_install(capsys, monkeypatch):
    for module in ["gradio", "mixwave_hf.demo"]:
        forget_modules(monkeypatch, module)
    monkeypatch.setitem(sys.modules, "gradio", None)
    assert main(["demo"]) == 1
    message = capsys.readouterr().err
    assert "`mixwave demo` needs gradio" in message and "pip install 'mixwave-hf[demo]'" in message


def test_mix_perspective_mirrors_the_model(tiny_model_dir, drum_tracks, tmp_path, capsys):
    stems = tmp_path / "stems"
    stems.mkdir()
    for slot in ("kick", "snare", "hihat", "tom_3"):  # no overheads: the mirror is the channels swapped
        soundfile.write(stems / f"{slot}.wav", drum_tracks[slot], 44_100, subtype="FLOAT")
    mixes = {}
    for perspective in ("audience", "drummer"):
        output = tmp_path / f"{perspective}.wav"
        status, out, _ = run("mix", stems, "-o", output, "--model", tiny_model_dir, "--perspective", perspective,
                             capsys=capsys)
        assert status == 0 and f"{perspective}'s perspective" in out
        mixes[perspective], _ = soundfile.read(output, dtype="float32")
    np.testing.assert_array_equal(mixes["drummer"], mixes["audience"][:, ::-1])
    with pytest.raises(SystemExit) as exit_info:
        main(["mix", str(stems), "-o", str(tmp_path / "x.wav"), "--perspective", "stage"])
    assert exit_info.value.code == 2 and "invalid choice: 'stage'" in capsys.readouterr().err
