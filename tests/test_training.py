"""Training: the config, the schedule, and the real entry point run as it is run (subprocesses).

A tiny model (3 levels, 4 base channels, 8,090 parameters) on crops of 4,243 -> 4,005 samples, and a
tiny dataset of 2 s noise songs whose target is a fixed linear mix of the tracks (learnable in a few
steps) written with the schema's own writer, as parquet shards and as bundles. Each run is a real
`train_accelerate.py` process: single-process from a bundle (also pushed to the local test Hub),
killed and resumed, and two CPU processes under `accelerate launch` streaming the parquet dataset.
Fine-tuning (`--init-from`) starts from a saved tiny model and from the embedded default model.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from mixwave_hf.data.loader import CropConfig, Segment, export_bundle, read_bundle
from mixwave_hf.data.schema import DatasetWriter, Song, song_rows
from mixwave_hf.loudness import level_tracks
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.training import (
    CHECKPOINT_MARKER,
    ConfigError,
    TrainingConfig,
    WarmupDecay,
    build_parser,
    fit_balance_gain_db,
    load_config_file,
    main,
    parameter_checksum,
    resolve_config,
)

ROOT = Path(__file__).resolve().parents[1]
RATE = 44_100
SONG_SECONDS, SEGMENT_SECONDS = 2.0, 1.0
TRAIN_SONGS, TRAIN_SHARDS = 4, 4  # 8 segments: 2 shards, 4 segments for each of two processes
STEPS, CHECKPOINT_EVERY, VALIDATE_EVERY = 24, 4, 8
TINY = {
    "model": {"levels": 3, "base_channels": 4},
    "data": {"crops": {"crop_output_samples": 4000, "crops_per_segment": 2, "gain_db": 0.0, "min_segment_seconds": 0.0},
             "streaming": {"shuffle": False}, "validation": {"crops_per_segment": 2, "max_crops": 4}},
    "optimizer": {"lr": 3e-3},
    "schedule": {"warmup_steps": 3, "decay": "cosine", "min_lr_ratio": 0.1},
    "training": {"steps": STEPS, "batch_size": 4, "log_every": 1, "validate_every": VALIDATE_EVERY,
                 "checkpoint_every": CHECKPOINT_EVERY, "checkpoints_kept": 2, "ema_decay": 0.9},
    "card": {"license": "cc0-1.0", "synthetic_only": True},
}
HUB_REPO = "mixwave-test/tiny-trained"
# How torch's elastic launcher (under accelerate launch) reports a process killed by a signal.
SIGNAL_DEATH = re.compile(r"Signal \d+ \((SIG\w+)\) received")


def make_song(song_id: str, seed: int) -> Song:
    """Noise tracks; the wet mix is a fixed linear mix of them, so a few steps of training get closer to it."""
    rng = np.random.default_rng(seed)
    length = int(SONG_SECONDS * RATE)
    tracks = {name: (0.2 * rng.standard_normal(length)).astype(np.float32) for name in ("kick", "snare", "hihat")}
    left = 0.6 * tracks["kick"] + 0.3 * tracks["snare"] + 0.2 * tracks["hihat"]
    right = 0.3 * tracks["kick"] + 0.6 * tracks["snare"] + 0.2 * tracks["hihat"]
    return Song(song_id, tracks, np.stack([left, right]), None, RATE, source="test", license="cc0-1.0")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A parquet dataset (train: 8 segments in 4 shards; validation: 2 segments), its bundles, the tiny config."""
    directory = tmp_path_factory.mktemp("training-data")
    writer = DatasetWriter(directory / "dataset", {"train": TRAIN_SHARDS, "validation": 1})
    for split, songs in (("train", [make_song(f"song{i}", i) for i in range(TRAIN_SONGS)]),
                         ("validation", [make_song("val0", 100)])):
        for song in songs:
            for row in song_rows(song, SEGMENT_SECONDS):
                writer.write(split, row)
    writer.close()
    for split in ("train", "validation"):
        export_bundle(directory / "dataset", split, directory / f"{split}.npz", CropConfig(), progress=False)
    (directory / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return {"dataset": directory / "dataset", "train": directory / "train.npz",
            "validation": directory / "validation.npz", "config": directory / "tiny.yaml"}


def bundle_command(data: dict[str, Path], output_dir: Path, *extra: str) -> list[str]:
    return ["train_accelerate.py", "--bundle", str(data["train"]), "--validation-bundle", str(data["validation"]),
            "--config", str(data["config"]), "--output-dir", str(output_dir), "--record-crops", "--no-progress",
            *extra]


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, **options)


def crop_log(output_dir: Path, rank: int = 0) -> dict:
    """The crops-rank{rank}.json that --record-crops wrote (`training.crop_log.CropLog`)."""
    return json.loads((output_dir / f"crops-rank{rank}.json").read_text())


def scalars(output_dir: Path, tag: str) -> dict[int, float]:
    """{step: value} of a TensorBoard scalar the run logged."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(output_dir / "logs" / "mixwave"))
    events.Reload()
    return {event.step: event.value for event in events.Scalars(tag)}


# ---- configuration --------------------------------------------------------------------------------------

def test_the_default_config_file_is_the_paper_recipe_and_the_command_line_overrides_it(tmp_path) -> None:
    config = TrainingConfig.from_dict(load_config_file(ROOT / "configs" / "train_default.yaml"))
    assert config == TrainingConfig()
    assert sum(parameter.numel() for parameter in MixWaveUNet(config.model).parameters()) == 6_183_450
    assert (config.optimizer.name, config.optimizer.lr, config.training.batch_size) == ("adam", 1e-4, 16)
    assert (config.loss.l1, config.loss.stft) == (1.0, 0.0)
    small = TrainingConfig.from_dict(load_config_file(ROOT / "configs" / "train_cpu_small.yaml"))
    assert (small.model.levels, small.model.base_channels, small.data.crops.crop_output_samples) == (8, 16, 22_050)

    args = build_parser().parse_args([
        "--dataset", "org/drums", "--output-dir", str(tmp_path),
        "--config", str(ROOT / "configs" / "train_cpu_small.yaml"),
        "--set", "loss.stft=0.5", "--set", "training.steps=10", "--steps", "7", "--target", "dry",
        "--ema-decay", "none"])
    config = resolve_config(args)
    assert config.training.steps == 7  # a flag wins over --set, which wins over the file
    assert (config.loss.stft, config.data.crops.target, config.training.ema_decay) == (0.5, "dry", None)
    assert config.model.levels == 8 and config.training.batch_size == 4  # from the file
    assert config.optimizer.lr == 1e-4  # not given anywhere: the default

    with pytest.raises(ConfigError, match=r"training: unknown option\(s\) \['step'\]; expected some of"):
        TrainingConfig.from_dict({"training": {"step": 5}})
    with pytest.raises(ConfigError, match="model: .*levels=0"):
        TrainingConfig.from_dict({"model": {"levels": 0}})
    with pytest.raises(ConfigError, match="schedule.decay='linear'; expected one of"):
        TrainingConfig.from_dict({"schedule": {"decay": "linear"}})
    with pytest.raises(ConfigError, match="loss: l1 and stft are both 0"):
        TrainingConfig.from_dict({"loss": {"l1": 0}})
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("training: !!python/object/apply:os.system ['echo hello']\n")
    with pytest.raises(ConfigError, match="not plain YAML"):
        load_config_file(unsafe)


def test_the_learning_rate_warms_up_then_decays_and_really_steps() -> None:
    schedule = WarmupDecay(warmup_steps=4, decay_steps=10, decay="cosine", min_ratio=0.1)
    assert [schedule(step) for step in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert schedule(4) == 1.0 and schedule(9) == pytest.approx(0.55) and schedule(14) == pytest.approx(0.1)
    assert schedule(100) == pytest.approx(0.1)
    exponential = WarmupDecay(0, 10, "exponential", 0.01)
    assert exponential(5) == pytest.approx(0.1) and exponential(10) == pytest.approx(0.01)
    assert WarmupDecay(2, 10, "constant")(50) == 1.0

    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    rates = []
    for _ in range(16):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:5] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3]) and rates[-1] == pytest.approx(1e-4)
    restored = torch.optim.lr_scheduler.LambdaLR(torch.optim.Adam([parameter], lr=1e-3), WarmupDecay(0, 1))
    restored.load_state_dict(scheduler.state_dict())  # the schedule travels with the checkpoint
    assert restored.lr_lambdas[0] == schedule


def test_command_line_errors_name_the_problem(data, tmp_path, capsys) -> None:
    assert main(["--bundle", str(data["train"]), "--output-dir", str(tmp_path / "a")]) == 1
    assert "--bundle trains without a validation set unless --validation-bundle" in capsys.readouterr().err
    assert main(bundle_command(data, tmp_path / "b", "--resume")[1:]) == 1
    assert "--resume: no complete checkpoint in" in capsys.readouterr().err
    (tmp_path / "c" / "checkpoints" / "checkpoint_4").mkdir(parents=True)
    assert main(bundle_command(data, tmp_path / "c")[1:]) == 1
    assert "already holds a training run (1 checkpoint(s)" in capsys.readouterr().err
    assert main(bundle_command(data, tmp_path / "d", "--set", "data.crops.gain_db=-1")[1:]) == 1
    assert "data.crops: gain_db=-1; expected a finite number >= 0" in capsys.readouterr().err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by its path inside it: compared before and after a refused run."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_refused(command: list[str], capsys, message: str) -> None:
    """`mixwave train COMMAND` stops with exit status 1 and `message` as its one line."""
    from mixwave_hf.cli import main as mixwave

    assert mixwave(["train", *command]) == 1
    assert capsys.readouterr().err == f"mixwave train: error: {message}\n"


APART = "the run writes its config, checkpoints, logs and models there: choose a folder apart from its inputs"


def test_an_output_dir_that_is_the_dataset_folder_is_refused(data, tmp_path, capsys) -> None:
    dataset = shutil.copytree(data["dataset"], tmp_path / "dataset")
    before = snapshot(dataset)
    assert_refused(["--dataset", str(dataset), "--config", str(data["config"]), "--output-dir", str(dataset)],
                   capsys, f"--output-dir {dataset} is the input --dataset {dataset}; {APART}")
    assert snapshot(dataset) == before


@pytest.mark.parametrize("inside", [False, True])
def test_an_output_dir_that_is_or_holds_the_init_from_model_is_refused(data, tmp_path, capsys, inside) -> None:
    # inside: fine-tuning a run's best model into that run's folder, whose best/ the new run would replace
    model_dir = tmp_path / "run" / "best" if inside else tmp_path / "model"
    MixWaveUNet(**TINY["model"]).save_pretrained(model_dir)
    output_dir = tmp_path / "run" if inside else model_dir
    before = snapshot(model_dir)
    relation = "holds" if inside else "is"
    assert_refused(bundle_command(data, output_dir, "--init-from", str(model_dir))[1:], capsys,
                   f"--output-dir {output_dir} {relation} the input --init-from {model_dir}; {APART}")
    assert snapshot(model_dir) == before


def test_an_output_dir_that_holds_a_bundle_is_refused(data, tmp_path, capsys) -> None:
    bundles = {"train": shutil.copy(data["train"], tmp_path), "validation": shutil.copy(data["validation"], tmp_path),
               "config": data["config"]}
    before = snapshot(tmp_path)
    assert_refused(bundle_command(bundles, tmp_path)[1:], capsys,
                   f"--output-dir {tmp_path} holds the input --bundle {bundles['train']}; {APART}")
    assert snapshot(tmp_path) == before


def test_an_output_dir_that_is_a_file_is_refused(data, tmp_path, capsys) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder")
    assert_refused(bundle_command(data, notes)[1:], capsys,
                   f"--output-dir {notes}: is a file; expected a folder (a new one, or a run's to --resume)")
    assert notes.read_text() == "not a folder"


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_learning_rate_that_is_not_a_positive_finite_number_is_refused(data, tmp_path, capsys, value) -> None:
    assert_refused(bundle_command(data, tmp_path / "run", "--lr", value)[1:], capsys,
                   f"--lr {float(value)}: optimizer.lr={float(value)}; expected a positive finite number")
    yaml_value = {"nan": ".nan", "inf": ".inf"}.get(value, value)  # the same through --set (read as YAML)
    assert_refused(bundle_command(data, tmp_path / "run", "--set", f"optimizer.lr={yaml_value}")[1:], capsys,
                   f"optimizer.lr={yaml.safe_load(yaml_value)!r}; expected a positive finite number")
    assert not (tmp_path / "run").exists()


def test_a_dataset_that_is_neither_a_folder_nor_on_the_hub_is_one_line(data, tmp_path, capsys) -> None:
    missing = tmp_path / "data" / "nosuch_ds"
    assert_refused(["--dataset", str(missing), "--config", str(data["config"]), "--output-dir", str(tmp_path / "run"),
                    "--no-progress"], capsys,
                   f"{missing}: neither a folder here nor reachable as a Hub dataset id (FileNotFoundError: Couldn't "
                   f"find any data file at {missing}.); expected a folder built by `mixwave data build` or a Hub "
                   "dataset id such as org/name")
    assert not (tmp_path / "run").exists()


def test_a_hub_dataset_id_the_hub_does_not_have_is_one_line(data, hub_server, tmp_path, capsys) -> None:
    from mixwave_hf.cli import main as mixwave

    assert mixwave(["train", "--dataset", "nosuch_ds", "--config", str(data["config"]), "--output-dir",
                    str(tmp_path / "run"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mixwave train: error: nosuch_ds: neither a folder here nor reachable as a Hub dataset "
                          "id (") and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


# ---- single-process training from a bundle ---------------------------------------------------------------

@pytest.fixture(scope="module")
def reference_run(data, tmp_path_factory, hub_server) -> tuple[Path, subprocess.CompletedProcess]:
    """An uninterrupted run from a bundle, pushed to the local Hub; it reports whether `datasets` got imported."""
    output_dir = tmp_path_factory.mktemp("reference") / "run"
    script = ("import sys; from mixwave_hf.training import main; status = main(sys.argv[1:]); "
              "print('IMPORTED', [name for name in ('datasets', 'pyarrow') if name in sys.modules]); sys.exit(status)")
    result = run([sys.executable, "-c", script,
                  *bundle_command(data, output_dir, "--push-to-hub", HUB_REPO)[1:]])
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir, result


def test_training_lowers_the_loss_logs_checkpoints_and_writes_a_model_with_its_card(reference_run) -> None:
    output_dir, result = reference_run
    losses = scalars(output_dir, "train/loss")
    assert sorted(losses) == list(range(1, STEPS + 1))
    first, last = np.mean([losses[step] for step in (1, 2, 3)]), np.mean([losses[step] for step in (22, 23, 24)])
    assert last < 0.8 * first, losses
    validation = scalars(output_dir, "validation/stereo_stft_loudness_matched")
    assert sorted(validation) == [8, 16, 24] and validation[24] < validation[8]
    assert set(scalars(output_dir, "validation/l1")) == {8, 16, 24}
    assert all(math.isfinite(value) and value > 0 for value in scalars(output_dir, "train/grad_norm").values())
    # The schedule steps once per optimizer step: warmup to 3e-3 over 3 steps, then cosine down to 3e-4.
    lr = scalars(output_dir, "train/lr")  # logged after the step, i.e. the rate of the next step
    assert [lr[1], lr[2]] == pytest.approx([2e-3, 3e-3]) and lr[STEPS] == pytest.approx(3e-4, rel=1e-3)
    assert all(lr[step + 1] < lr[step] for step in range(3, STEPS))

    # Checkpoints by step, the oldest removed beyond checkpoints_kept, each complete with its data position.
    checkpoints = sorted((output_dir / "checkpoints").iterdir())
    assert [folder.name for folder in checkpoints] == ["checkpoint_20", "checkpoint_24"]
    for folder in checkpoints:
        assert {CHECKPOINT_MARKER, "loader-0.pt", "model.safetensors", "optimizer.bin", "scheduler.bin",
                "random_states_0.pkl"} <= {file.name for file in folder.iterdir()}
    assert yaml.safe_load((output_dir / "config.yaml").read_text()) == TrainingConfig.from_dict(TINY).as_dict()

    best = MixWaveUNet.from_pretrained(output_dir / "best")
    assert (best.levels, best.down[0].out_channels) == (3, 4)
    card = (output_dir / "best" / "README.md").read_text()
    training = json.loads((output_dir / "best" / "training.json").read_text())
    assert (training["license"], training["synthetic_only"]) == ("cc0-1.0", True)
    table = training["training"]
    assert table["dataset"].startswith("bundle train.npz (") and table["dataset"].endswith("split train)")
    assert table["target"] == "wet mix"
    assert table["steps"] == f"24 of {STEPS}" and table["batch"].startswith("4 crops per step")
    assert table["hardware"].startswith("1 x CPU") and "train_accelerate.py --bundle" in table["command"]
    assert table["best validation"].startswith(f"stereo_stft_loudness_matched {validation[24]:.4g}")
    for value in (table["best validation"], table["hardware"], table["optimizer"], "| hours |"):
        assert value in card
    assert "synthetic drums only" in card and "license: cc0-1.0" in card
    assert (output_dir / "final" / "model.safetensors").is_file()
    assert f"pushed {output_dir / 'best'}" in result.stdout


def test_the_pushed_model_carries_its_training_table(reference_run) -> None:
    from huggingface_hub import HfApi, hf_hub_download

    output_dir, _ = reference_run
    assert {"README.md", "config.json", "model.safetensors", "training.json"} <= set(HfApi().list_repo_files(HUB_REPO))
    card = Path(hf_hub_download(HUB_REPO, "README.md")).read_text()
    assert "| best validation | stereo_stft_loudness_matched" in card and HUB_REPO.split("/")[1] in card
    pushed = load_file(hf_hub_download(HUB_REPO, "model.safetensors"))
    local = load_file(output_dir / "best" / "model.safetensors")
    assert pushed.keys() == local.keys() and all(torch.equal(pushed[name], local[name]) for name in local)


def test_training_from_a_bundle_never_imports_datasets(reference_run) -> None:
    assert "IMPORTED []" in reference_run[1].stdout


def test_gradient_accumulation_takes_the_step_of_the_whole_batch(data, tmp_path) -> None:
    # Unshuffled, 2 accumulated batches of 2 crops are the crops of one batch of 4: the same updates, and
    # the schedule steps once per update, not per batch.
    options = ["--set", "training.validate_every=0", "--steps", "6", "--ema-decay", "none"]
    runs = {"whole": [], "accumulated": ["--batch-size", "2", "--gradient-accumulation-steps", "2"]}
    for name, extra in runs.items():
        result = run([sys.executable, *bundle_command(data, tmp_path / name, *options, *extra)])
        assert result.returncode == 0, result.stderr[-3000:]
    whole, accumulated = (load_file(tmp_path / name / "final" / "model.safetensors") for name in runs)
    assert all(torch.allclose(accumulated[name], whole[name], atol=1e-6) for name in whole)
    assert scalars(tmp_path / "accumulated", "train/lr") == pytest.approx(scalars(tmp_path / "whole", "train/lr"))
    assert crop_log(tmp_path / "accumulated")["steps"] == crop_log(tmp_path / "whole")["steps"]


# ---- kill and resume ----------------------------------------------------------------------------------------

def test_a_killed_run_resumes_from_its_last_checkpoint_and_ends_as_an_uninterrupted_run(data, tmp_path,
                                                                                         reference_run) -> None:
    output_dir = tmp_path / "run"
    # Validating every step on more crops slows the run to a few steps per second, so that it can be killed
    # between its first checkpoint and its end. Validation must not touch the training state: the resumed
    # run, which validates as the reference does, has to end with the reference's weights all the same.
    slow = ["--validate-every", "1", "--set", "data.validation.crops_per_segment=8", "--set",
            "data.validation.max_crops=16"]
    process = subprocess.Popen([sys.executable, *bundle_command(data, output_dir, *slow)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(output_dir.glob(f"checkpoints/checkpoint_*/{CHECKPOINT_MARKER}")):
            assert process.poll() is None, f"the run ended (status {process.returncode}) before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (output_dir / "final").exists(), "the run finished before it could be killed: slow it down further"
    saved = max(int(marker.parent.name.split("_")[1])
                for marker in output_dir.glob(f"checkpoints/checkpoint_*/{CHECKPOINT_MARKER}"))
    assert CHECKPOINT_EVERY <= saved < STEPS

    result = run([sys.executable, *bundle_command(data, output_dir, "--resume")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resumed from checkpoint_{saved} at step {saved}" in result.stdout
    resumed, reference = crop_log(output_dir), crop_log(reference_run[0])
    assert resumed["first_step"] == saved + 1
    # The data stream continues exactly where the checkpoint left it ...
    assert resumed["steps"] == {step: crops for step, crops in reference["steps"].items() if int(step) > saved}
    # ... and so do the weights, the optimizer, the schedule and the EMA: bitwise, on CPU.
    assert resumed["parameter_sha256"] == reference["parameter_sha256"]
    assert resumed["ema_parameter_sha256"] == reference["ema_parameter_sha256"]
    final, expected = (load_file(folder / "final" / "model.safetensors") for folder in (output_dir, reference_run[0]))
    assert all(torch.equal(final[name], expected[name]) for name in expected)
    assert scalars(output_dir, "train/lr")[STEPS] == pytest.approx(3e-4, rel=1e-3)


def damage(file: Path) -> None:
    """Cut `file` to half its size, as a disk that filled up while it was saved."""
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def test_a_resume_passes_over_a_damaged_checkpoint_to_the_newest_whole_one(data, tmp_path, reference_run) -> None:
    output_dir = shutil.copytree(reference_run[0], tmp_path / "run")
    newest, previous = (output_dir / "checkpoints" / f"checkpoint_{step}" for step in (STEPS, STEPS - CHECKPOINT_EVERY))
    damage(newest / "model.safetensors")
    result = run([sys.executable, *bundle_command(data, output_dir, "--resume")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert (f"removing {newest}: model.safetensors is damaged (Error while deserializing header: incomplete "
            f"metadata, file not fully covered); resuming from {previous.name} instead") in result.stderr
    assert f"resumed from {previous.name} at step {STEPS - CHECKPOINT_EVERY}" in result.stdout
    # The steps after the whole checkpoint are trained again, to the reference's weights.
    assert crop_log(output_dir)["parameter_sha256"] == crop_log(reference_run[0])["parameter_sha256"]


def test_a_resume_with_no_whole_checkpoint_is_one_line(data, tmp_path, reference_run, capsys) -> None:
    output_dir = shutil.copytree(reference_run[0], tmp_path / "run")
    newest, previous = (output_dir / "checkpoints" / f"checkpoint_{step}" for step in (STEPS, STEPS - CHECKPOINT_EVERY))
    damage(newest / "optimizer.bin")
    damage(previous / "model.safetensors")
    before = snapshot(output_dir)
    assert_refused(bundle_command(data, output_dir, "--resume")[1:], capsys,
                   f"--resume: no usable checkpoint in {output_dir / 'checkpoints'} ({newest.name}: optimizer.bin is "
                   f"damaged (File is not a zip file); {previous.name}: model.safetensors is damaged (Error while "
                   "deserializing header: incomplete metadata, file not fully covered)); remove the damaged "
                   "checkpoints to start the run again, or use another --output-dir")
    assert snapshot(output_dir) == before


def test_a_resume_with_changed_model_options_names_each_with_both_values(data, tmp_path, reference_run,
                                                                         capsys) -> None:
    output_dir = shutil.copytree(reference_run[0], tmp_path / "run")
    before = snapshot(output_dir)
    assert_refused(bundle_command(data, output_dir, "--resume", "--set", "model.levels=2", "--set",
                                  "model.upsampling=learned")[1:], capsys,
                   f"--resume: the model options differ from the run's ({output_dir / 'config.yaml'}): model.levels 2 "
                   "here, 3 in the run; model.upsampling 'learned' here, 'linear' in the run; its checkpoints hold "
                   "that model: leave the model options as they were, or start a new run in another --output-dir")
    assert snapshot(output_dir) == before


# ---- two processes --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_cpu_processes_read_disjoint_data_and_end_with_identical_weights(data, tmp_path) -> None:
    steps = 8

    def launch(output_dir: Path) -> subprocess.CompletedProcess:
        # --multi_gpu with CPU processes (gloo): `--cpu --num_processes 2` would silently run one process.
        return run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                    "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                    "--main_process_port", str(free_port()),
                    "train_accelerate.py", "--dataset", str(data["dataset"]), "--config", str(data["config"]),
                    "--output-dir", str(output_dir), "--cpu", "--steps", str(steps), "--record-crops", "--no-progress",
                    "--set", "data.validation.max_crops=3"],
                   env={**os.environ, "OMP_NUM_THREADS": "1"})

    output_dir = tmp_path / "run"
    result = launch(output_dir)
    # The launcher stops the other process with SIGTERM when one fails: that is no death of its own.
    deaths = set(SIGNAL_DEATH.findall(result.stdout + result.stderr)) - {"SIGTERM"}
    if result.returncode != 0 and deaths:
        # Once in a few runs a 2-process CPU run has had a process die of SIGABRT on these machines, cause
        # unknown: one retry in a fresh folder, reported as a warning. A Python error, or a second death,
        # fails the test.
        warnings.warn(f"2-process run: a process died of {sorted(deaths)}; retrying once. Its log ends:\n"
                      f"{result.stderr[-2000:]}", stacklevel=1)
        output_dir = tmp_path / "retry"
        result = launch(output_dir)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [crop_log(output_dir, rank) for rank in (0, 1)]
    assert [(one["rank"], one["world_size"]) for one in ranks] == [(0, 2), (1, 2)]
    segments = [{(song, segment) for crops in one["steps"].values() for song, segment, _ in crops} for one in ranks]
    assert all(len(one["steps"]) == steps for one in ranks)
    # Each process streams its own shards: disjoint, and together every training segment.
    assert not segments[0] & segments[1]
    assert segments[0] | segments[1] == {(f"song{i}", j) for i in range(TRAIN_SONGS) for j in range(2)}
    # DDP kept the weights (and so the EMAs) identical, and they moved.
    assert ranks[0]["parameter_sha256"] == ranks[1]["parameter_sha256"] != ranks[0]["initial_parameter_sha256"]
    assert ranks[0]["ema_parameter_sha256"] == ranks[1]["ema_parameter_sha256"]
    # gather_for_metrics scored each validation crop once (3 crops over 2 processes: one padded batch).
    assert [one["validation_crops_scored"] for one in ranks] == [3, 3]
    checkpoint = output_dir / "checkpoints" / f"checkpoint_{steps}"
    assert {"loader-0.pt", "loader-1.pt", "random_states_0.pkl", "random_states_1.pkl"} <= {
        file.name for file in checkpoint.iterdir()}
    training = json.loads((output_dir / "best" / "training.json").read_text())["training"]
    assert training["batch"].startswith("8 crops per step (4 per process x 2 process(es)")
    assert training["hardware"].startswith("2 x CPU")


# ---- fine-tuning ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def init_model_dir(tmp_path_factory) -> Path:
    """A saved model of TINY's architecture, but with learned upsampling: an option TINY leaves unset."""
    torch.manual_seed(1)
    directory = tmp_path_factory.mktemp("init-model") / "tiny"
    MixWaveUNet(levels=3, base_channels=4, upsampling="learned").save_pretrained(directory)
    return directory


def test_init_from_takes_the_model_section_from_the_model_and_names_every_disagreeing_option(
        data, init_model_dir, tmp_path, capsys) -> None:
    def resolve(*extra: str) -> TrainingConfig:
        return resolve_config(build_parser().parse_args(
            ["--bundle", str(data["train"]), "--output-dir", str(tmp_path), *extra]))

    config = resolve("--config", str(data["config"]), "--init-from", str(init_model_dir), "--lr", "1e-4")
    assert (config.model.levels, config.model.upsampling) == (3, "learned")  # options equal to the model's
    assert (config.training.init_from, config.optimizer.lr) == (str(init_model_dir), 1e-4)
    default = resolve("--init-from", "default")
    assert (default.model.levels, default.model.base_channels, default.training.init_from) == (8, 16, "default")

    assert main(bundle_command(data, tmp_path / "a", "--init-from", str(init_model_dir),
                               "--set", "model.levels=4")[1:]) == 1
    error = capsys.readouterr().err
    assert "the architecture and initialisation come from that model" in error
    assert "model.levels=4 here, 3 in the model" in error
    assert main(bundle_command(data, tmp_path / "b", "--init-from", "default")[1:]) == 1  # tiny.yaml's model
    error = capsys.readouterr().err
    assert "model.levels=3 here, 8 in the model" in error and "model.base_channels=4 here, 16 in the model" in error
    assert main(bundle_command(data, tmp_path / "c", "--init-from", str(tmp_path / "missing"))[1:]) == 1
    assert "--init-from): no such folder, and not a Hub model id" in capsys.readouterr().err
    assert main(bundle_command(data, tmp_path / "d", "--set", "model.levelling=strokes", "--set",
                               "data.crops.gain_db=3")[1:]) == 1
    assert "data: gain_db=3 with levelling='strokes'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "d").exists()


def test_a_fine_tuning_run_starts_from_the_model_and_resumes_from_its_own_checkpoint(data, init_model_dir,
                                                                                      tmp_path) -> None:
    output_dir = tmp_path / "run"
    options = ["--validate-every", "0", "--checkpoint-every", "2"]
    result = run([sys.executable, *bundle_command(data, output_dir, "--init-from", str(init_model_dir),
                                                  "--steps", "2", *options)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"starting from {init_model_dir}" in result.stdout
    first = crop_log(output_dir)
    assert first["initial_parameter_sha256"] == parameter_checksum(MixWaveUNet.from_pretrained(init_model_dir))
    assert first["parameter_sha256"] != first["initial_parameter_sha256"]
    assert MixWaveUNet.from_pretrained(output_dir / "final").upsampling == "learned"
    saved = yaml.safe_load((output_dir / "config.yaml").read_text())
    assert (saved["training"]["init_from"], saved["model"]["upsampling"]) == (str(init_model_dir), "learned")
    card = json.loads((output_dir / "final" / "training.json").read_text())["training"]
    assert card["initial weights"] == f"fine-tuned from `{init_model_dir}`"

    # Resumed, the weights are the checkpoint's, not the initial model's; a changed --init-from is reported.
    moved = tmp_path / "moved"
    shutil.copytree(init_model_dir, moved)
    result = run([sys.executable, *bundle_command(data, output_dir, "--init-from", str(moved), "--steps", "3",
                                                  *options, "--resume")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from checkpoint_2 at step 2" in result.stdout
    assert crop_log(output_dir)["initial_parameter_sha256"] == first["parameter_sha256"]
    assert f"training.init_from: '{init_model_dir}' -> '{moved}'" in result.stderr


def test_the_default_model_fine_tunes_on_a_bundle(data, tmp_path) -> None:
    output_dir = tmp_path / "run"
    no_model = tmp_path / "no-model.yaml"
    no_model.write_text(yaml.safe_dump({section: options for section, options in TINY.items() if section != "model"}))
    # The second --config wins: TINY without its model section, which would disagree with the default model.
    result = run([sys.executable, *bundle_command(data, output_dir, "--config", str(no_model), "--init-from",
                                                  "default", "--steps", "1", "--validate-every", "1")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert crop_log(output_dir)["initial_parameter_sha256"] == parameter_checksum(MixWaveUNet.from_pretrained())
    best = MixWaveUNet.from_pretrained(output_dir / "best")
    assert (best.levels, best.down[0].out_channels) == (8, 16)
    assert "| initial weights | fine-tuned from the default model of mixwave-hf" in (
        output_dir / "best" / "README.md").read_text()


def test_balance_gain_db_is_fitted_as_the_loudness_gap_between_target_and_static_mix() -> None:
    # The model's own balance_gain_db is left out of the fit; its levelling is applied to the tracks.
    model = MixWaveUNet(levels=2, base_channels=2, output_init="balance", levelling="integrated", balance_gain_db=5.0)
    weights = MixWaveUNet(levels=2, base_channels=2, output_init="balance").static_mix_weights().numpy()
    rng = np.random.default_rng(0)
    segments = []
    for number, gain_db in enumerate([-9.0, -7.5, -6.0, None]):  # None: a silent target, skipped
        tracks = (rng.standard_normal((8, RATE)) * rng.uniform(0.01, 0.5, (8, 1))).astype(np.float32)
        tracks[4] = 0.0
        levelled, _ = level_tracks(tracks, RATE, "integrated", -30.0)
        target = 10 ** (gain_db / 20) * weights @ levelled if gain_db is not None else np.zeros((2, RATE))
        segments.append(Segment(tracks, target.astype(np.float32), f"song{number}", 0))
    assert fit_balance_gain_db(segments, model) == pytest.approx(-7.5, abs=0.1)
    with pytest.raises(ValueError, match="no segment with an audible target"):
        fit_balance_gain_db(segments[3:], model)
    with pytest.raises(ConfigError, match="balance_gain_db: null .* goes with model.output_init: balance"):
        TrainingConfig.from_dict({"model": {"balance_gain_db": None}})


def test_a_null_balance_gain_is_fitted_on_the_training_bundle_and_saved_with_the_model(data, tmp_path) -> None:
    output_dir = tmp_path / "run"
    result = run([sys.executable, *bundle_command(data, output_dir, "--set", "model.output_init=balance", "--set",
                                                  "model.balance_gain_db=null", "--steps", "1", "--validate-every",
                                                  "0")])
    assert result.returncode == 0, result.stderr[-3000:]
    expected = fit_balance_gain_db(read_bundle(data["train"])[1],
                                   MixWaveUNet(levels=3, base_channels=4, output_init="balance"))
    assert f"model.balance_gain_db fitted on the training data: {expected:+.2f} dB" in result.stdout
    saved = json.loads((output_dir / "final" / "config.json").read_text())
    assert saved["balance_gain_db"] == pytest.approx(expected, abs=1e-3)
    assert yaml.safe_load((output_dir / "config.yaml").read_text())["model"]["balance_gain_db"] == saved[
        "balance_gain_db"]


def test_a_levelling_model_trains_without_input_gains_unless_one_is_asked_for():
    """Levelling cancels input gains: the augmentation defaults to 0 for such a model, and an explicit
    gain is refused (the combination is impossible, not just warned about)."""
    levelled = TrainingConfig.from_dict({"model": {"levels": 2, "base_channels": 2, "levelling": "close_strokes"}})
    assert levelled.data.crops.gain_db == 0.0
    assert TrainingConfig.from_dict({"model": {"levels": 2, "base_channels": 2}}).data.crops.gain_db == 6.0
    with pytest.raises(ConfigError, match="gain_db=6.0 with levelling"):
        TrainingConfig.from_dict({"model": {"levelling": "close_strokes"}, "data": {"crops": {"gain_db": 6.0}}})


def test_the_stft_loss_equals_auralosss_sum_and_difference_loss_and_its_gradient():
    import auraloss

    from mixwave_hf.metrics import STFT_FFT_SIZES
    from mixwave_hf.stft_loss import SumAndDifferenceSTFTLoss

    generator = torch.Generator().manual_seed(0)
    estimate = 0.1 * torch.randn(3, 2, 9000, generator=generator)
    estimate[1, :, :3000] = 0.0  # silent bins of the estimate: no gradient through the floor
    estimate.requires_grad_()
    target = 0.1 * torch.randn(3, 2, 9000, generator=generator)
    target[0] = 0.0  # silent bins: the magnitude floor
    reference = auraloss.freq.SumAndDifferenceSTFTLoss(
        fft_sizes=list(STFT_FFT_SIZES), hop_sizes=[size // 4 for size in STFT_FFT_SIZES],
        win_lengths=list(STFT_FFT_SIZES))
    expected = reference(estimate, target)
    (expected_gradient,) = torch.autograd.grad(expected, estimate)
    loss = SumAndDifferenceSTFTLoss(STFT_FFT_SIZES)(estimate, target)
    (gradient,) = torch.autograd.grad(loss, estimate)
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=0)
    torch.testing.assert_close(gradient, expected_gradient, rtol=1e-4, atol=1e-6 * float(expected_gradient.abs().max()))


def test_the_stft_losss_hand_written_backward_passes_gradcheck():
    """In float64 at small FFT sizes, against finite differences: the path through the magnitude, the
    rfft, the window, the overlap-add (hops 4 and 16) and the reflection padding at both ends."""
    from mixwave_hf.stft_loss import SumAndDifferenceSTFTLoss

    generator = torch.Generator().manual_seed(1)
    estimate = torch.randn(2, 2, 150, generator=generator, dtype=torch.float64).requires_grad_()
    target = torch.randn(2, 2, 150, generator=generator, dtype=torch.float64)
    loss = SumAndDifferenceSTFTLoss((16, 64))
    assert torch.autograd.gradcheck(lambda audio: loss(audio, target), (estimate,))
