"""No command writes over its own inputs (issue 20): an output that is one of the inputs, through any path or
link, is refused before anything is read, with one line naming both, and the input keeps every byte.

The commands run for real (`mixwave_hf.cli.main`) on tiny files; `loads` records whether a command got as far
as loading its model, which it would then use to mix and write over the input. Training: tests/test_training.py.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mixwave_hf.cli import main

RATE = 44_100


def write_tone(path: Path, channels: int = 1, seconds: float = 0.3) -> Path:
    """A short noise burst, as a float WAV (or FLAC if the name says so)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = 0.1 * np.random.default_rng(len(path.name)).standard_normal((int(seconds * RATE), channels))
    soundfile.write(path, audio.astype(np.float32), RATE, subtype="FLOAT" if path.suffix == ".wav" else None)
    return path


def write_stems(folder: Path, names=("kick.wav", "snare.wav")) -> Path:
    for name in names:
        write_tone(folder / name)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by its path inside it: compared before and after a command."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture
def loads(monkeypatch, tiny_model_dir) -> list:
    """The models `mixwave_hf.cli` loaded (the tiny model whatever is asked): empty when a command stops first."""
    from mixwave_hf.cli import commands as cli

    loaded, load = [], cli.load_model
    monkeypatch.setattr(cli, "load_model", lambda name: loaded.append(name) or load(str(tiny_model_dir)))
    return loaded


def run(capsys, *args) -> tuple[int, str]:
    status = main([str(arg) for arg in args])
    return status, capsys.readouterr().err


def assert_refused(status: int, err: str, message: str) -> None:
    assert status == 1, err
    assert err == f"mixwave: error: {message}\n", err


# ---- mixwave mix ----------------------------------------------------------------------------------------

def test_mix_output_that_is_a_listed_stem_is_refused(tmp_path, monkeypatch, capsys, loads):
    write_stems(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    status, err = run(capsys, "mix", "kick.wav", "snare.wav", "-o", "kick.wav")
    assert_refused(status, err, "-o kick.wav is one of the inputs (kick.wav); choose another output name or folder")
    assert snapshot(tmp_path) == before and loads == []


def test_mix_dot_from_inside_the_stems_folder_refuses_a_stem_as_output(tmp_path, monkeypatch, capsys, loads):
    stems = write_stems(tmp_path / "stems")
    monkeypatch.chdir(stems)
    before = snapshot(stems)
    status, err = run(capsys, "mix", ".", "-o", "snare.wav")
    assert_refused(status, err, "-o snare.wav is one of the inputs (snare.wav); choose another output name or folder")
    assert snapshot(stems) == before and loads == []


def test_mix_output_through_a_symbolic_link_to_a_stem_is_refused(tmp_path, monkeypatch, capsys, loads):
    stems = write_stems(tmp_path / "stems")
    (tmp_path / "link.wav").symlink_to(stems / "kick.wav")
    monkeypatch.chdir(tmp_path)
    before = snapshot(stems)
    status, err = run(capsys, "mix", "stems", "-o", "link.wav")
    assert_refused(status, err, "-o link.wav is one of the inputs (stems/kick.wav); choose another output name or "
                   "folder")
    assert snapshot(stems) == before and (tmp_path / "link.wav").is_symlink() and loads == []


def test_mix_output_hard_linked_to_a_stem_is_refused(tmp_path, monkeypatch, capsys, loads):
    stems = write_stems(tmp_path / "stems")
    os.link(stems / "kick.wav", tmp_path / "kick-copy.wav")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    status, err = run(capsys, "mix", "stems", "-o", "kick-copy.wav")
    assert_refused(status, err, "-o kick-copy.wav is one of the inputs (stems/kick.wav); choose another output name "
                   "or folder")
    assert snapshot(tmp_path) == before and loads == []


@pytest.mark.parametrize("name", ["mix.wav", "kick out.wav"])  # matches no slot / a secondary mic, left out
def test_mix_output_that_is_a_file_left_out_of_the_stems_folder_is_refused(tmp_path, monkeypatch, capsys, loads,
                                                                           name):
    stems = write_stems(tmp_path / "stems", ("kick.wav", "snare.wav", name))
    monkeypatch.chdir(tmp_path)
    before = snapshot(stems)
    status, err = run(capsys, "mix", "stems", "-o", f"stems/{name}")
    assert_refused(status, err, f"-o stems/{name} is one of the inputs (stems/{name}); choose another output name "
                   "or folder")
    assert snapshot(stems) == before and loads == []


def test_mix_output_that_is_a_mapped_file_is_refused(tmp_path, monkeypatch, capsys, loads):
    write_stems(tmp_path / "stems")
    write_tone(tmp_path / "beater.wav")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    status, err = run(capsys, "mix", "stems", "--map", "kick=beater.wav", "-o", "beater.wav")
    assert_refused(status, err, "-o beater.wav is one of the inputs (beater.wav); choose another output name or "
                   "folder")
    assert snapshot(tmp_path) == before and loads == []


def test_mix_output_beside_the_stems_is_still_written(tmp_path, monkeypatch, capsys, loads):
    stems = write_stems(tmp_path / "stems")
    monkeypatch.chdir(stems)
    status, err = run(capsys, "mix", ".", "-o", "mix.wav")
    assert status == 0, err
    assert soundfile.info(stems / "mix.wav").channels == 2 and len(loads) == 1


# ---- mixwave evaluate -----------------------------------------------------------------------------------

@pytest.mark.parametrize("output,clash", [("kick.wav", "kick.wav"), ("../mix.wav", "../mix.wav")])
def test_evaluate_output_that_is_a_stem_or_the_reference_is_refused(tmp_path, monkeypatch, capsys, loads, output,
                                                                    clash):
    stems = write_stems(tmp_path / "stems")
    write_tone(tmp_path / "mix.wav", channels=2)
    monkeypatch.chdir(stems)
    before = snapshot(tmp_path)
    status, err = run(capsys, "evaluate", "--stems", ".", "--reference", "../mix.wav", "--output", output)
    assert_refused(status, err, f"--output {output} is one of the inputs ({clash}); choose another output name or "
                   "folder")
    assert snapshot(tmp_path) == before and loads == []


def test_evaluate_output_that_is_a_file_of_the_dataset_folder_is_refused(tmp_path, capsys, loads):
    dataset = tmp_path / "dataset"
    (dataset / "data").mkdir(parents=True)
    (dataset / "README.md").write_text("---\nlicense: cc0-1.0\n---\n")
    (dataset / "data" / "test-00000-of-00001.parquet").write_bytes(b"PAR1 shard")
    before = snapshot(dataset)
    output = dataset / "README.md"
    status, err = run(capsys, "evaluate", "--dataset", dataset, "--output", output)
    assert_refused(status, err, f"--output {output} is one of the inputs ({output}); choose another output name or "
                   "folder")
    assert snapshot(dataset) == before and loads == []


def test_evaluate_output_that_cannot_be_written_is_refused_before_evaluating(tmp_path, monkeypatch, capsys, loads):
    stems = write_stems(tmp_path / "stems")
    reference = write_tone(tmp_path / "mix.wav", channels=2)
    folder = tmp_path / "results"
    folder.mkdir()
    status, err = run(capsys, "evaluate", "--stems", stems, "--reference", reference, "--output", folder)
    assert_refused(status, err, f"{folder}: is a folder; expected a file name such as {folder / 'evaluation.json'}")
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)  # a folder the user may not write to
    status, err = run(capsys, "evaluate", "--stems", stems, "--reference", reference, "--output",
                      folder / "evaluation.json")
    assert_refused(status, err, f"{folder / 'evaluation.json'}: cannot be written: the folder {folder} is not "
                   "writable")
    assert loads == [] and list(folder.iterdir()) == []


def test_evaluate_examples_dir_that_is_a_file_or_holds_the_stems_is_refused(tmp_path, monkeypatch, capsys, loads):
    stems = write_stems(tmp_path / "stems")
    write_tone(tmp_path / "mix.wav", channels=2)
    (tmp_path / "notes.txt").write_text("not a folder")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    arguments = ["evaluate", "--stems", "stems", "--reference", "mix.wav", "--output", "out/evaluation.json",
                 "--examples", "1"]
    status, err = run(capsys, *arguments, "--examples-dir", "notes.txt")
    assert_refused(status, err, "--examples-dir notes.txt: is a file; expected a folder (new or existing) for the "
                   "example mixes")
    status, err = run(capsys, *arguments, "--examples-dir", ".")
    assert_refused(status, err, f"--examples-dir . holds the input {Path('stems/kick.wav')}; choose another folder "
                   "for the example mixes")
    assert snapshot(tmp_path) == before and loads == [] and not stems.joinpath("mix").exists()


# ---- mixwave data build ---------------------------------------------------------------------------------

def write_sessions(root: Path) -> Path:
    """A folder builder's collection: one song folder with a track and its mix."""
    write_tone(root / "song_a" / "kick.wav")
    write_tone(root / "song_a" / "mix.wav", channels=2)
    return root


@pytest.mark.parametrize("builder", ["folder", "synth"])
def test_data_build_into_an_existing_file_is_one_line(tmp_path, capsys, builder):
    root = write_sessions(tmp_path / "sessions")
    out = tmp_path / "dataset.parquet"
    out.write_bytes(b"PAR1 someone's file")
    before = snapshot(tmp_path)
    arguments = [root, out] if builder == "folder" else [out, "--hours", "0.01", "--workers", "1"]
    status, err = run(capsys, "data", "build", builder, *arguments)
    assert_refused(status, err, f"{out}: is a file; expected a new or empty folder, or a built dataset to add "
                   "other splits to (nothing is overwritten)")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out,relation", [("sessions", "is"), ("sessions/dataset", "lies inside"),
                                          (".", "holds")])
def test_data_build_folder_into_or_over_its_root_is_refused(tmp_path, monkeypatch, capsys, out, relation):
    root = write_sessions(tmp_path / "sessions")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    status, err = run(capsys, "data", "build", "folder", "sessions", out)
    assert_refused(status, err, f"OUT {out} {relation} ROOT sessions: the build would write into or over the "
                   "collection it reads; choose an output folder apart from it")
    assert snapshot(tmp_path) == before and sorted(path.name for path in root.iterdir()) == ["song_a"]
