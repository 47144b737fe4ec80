"""`mixwave mix` end to end on generated files: the real console script, then each bad input."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from mixwave_hf.cli import main
from mixwave_hf.example import EXAMPLE_FILE_NAMES, example_stems, synthesize_drum_tracks
from mixwave_hf.model import MixWaveUNet

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
    stems = write_stems(tmp_path / "stems", {"kick_in": drum_tracks["kick"], "kick_out": drum_tracks["kick"]})
    status, _, err = run("mix", stems, "-o", tmp_path / "mix.wav", "--model", tiny_model_dir, capsys=capsys)
    assert status == 1 and "kick_in.wav and" in err and "kick_out.wav both match slot 'kick'" in err


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
