"""The default model embedded in the package: loads with no network and no Hub cache, and mixes."""

import json
import subprocess
import sys

import numpy as np
import soundfile

from mixwave_hf.model import MixWaveUNet
from mixwave_hf.resources import DEFAULT_MODEL_DIR, EXAMPLE_DIR, example_stems


def test_default_model_files_are_in_the_package():
    for name in ("config.json", "model.safetensors", "README.md", "evaluation.json", "training.json"):
        assert (DEFAULT_MODEL_DIR / name).is_file(), name
    card = (DEFAULT_MODEL_DIR / "README.md").read_text()
    evaluation = json.loads((DEFAULT_MODEL_DIR / "evaluation.json").read_text())
    median = evaluation["systems"]["model"]["summary"]["stereo_stft_loudness_matched"]["median"]
    assert f"{median:.3g}" in card and "synthetic drums only" in card


def test_default_model_loads_offline_and_mixes_the_example_without_clipping(tmp_path):
    """In a fresh process with HF_HUB_OFFLINE=1 and an empty HF_HOME: nothing can come from a hub."""
    script = f"""
import numpy as np, soundfile
from mixwave_hf import MixWaveUNet
from mixwave_hf.resources import example_stems, EXAMPLE_FILE_NAMES
model = MixWaveUNet.from_pretrained()
tracks = {{slot: soundfile.read(path, dtype="float32")[0] for slot, path in zip(EXAMPLE_FILE_NAMES, example_stems())}}
result = model.mix(tracks, 44100)
np.save({str(tmp_path / "mix.npy")!r}, result.audio)
print(result.clipped_samples, sum(p.numel() for p in model.parameters()))
"""
    environment = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf-home"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    clipped, parameters = map(int, result.stdout.split())
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert parameters == sum(p.numel() for p in MixWaveUNet(**{k: v for k, v in config.items()}).parameters())
    mix = np.load(tmp_path / "mix.npy")
    assert clipped == 0 and mix.shape == (2, 4 * 44_100)
    assert np.sqrt(np.mean(mix**2)) > 1e-3  # not silent


def test_mixwave_mix_uses_the_default_model_when_none_is_named(tmp_path):
    script = [sys.executable, "-m", "mixwave_hf.cli", "mix", str(EXAMPLE_DIR), "-o", str(tmp_path / "mix.wav")]
    result = subprocess.run(script, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "0 clipped samples" in result.stdout
    assert soundfile.info(tmp_path / "mix.wav").frames == soundfile.info(example_stems()[0]).frames


def test_default_model_levels_its_inputs_and_beats_the_baselines_on_test_and_stress():
    """The shipped model carries its levelling and static balance, and its shipped evaluations (the
    held-out kits' test and stress splits) show it ahead of the rule-based mix and the loudness-matched
    sum on the headline metric, as its card says; it mixes from the audience's perspective."""
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert config["levelling"] == "bleed_aware" and config["output_init"] == "balance"
    assert config["format_version"] == 3 and config["perspective"] == "audience"
    card = (DEFAULT_MODEL_DIR / "README.md").read_text()
    for name, split in (("evaluation.json", "test"), ("evaluation-stress.json", "stress")):
        evaluation = json.loads((DEFAULT_MODEL_DIR / name).read_text())
        assert evaluation["split"] == split
        medians = {system: figures["summary"]["stereo_stft_loudness_matched"]["median"]
                   for system, figures in evaluation["systems"].items()}
        assert medians["model"] < medians["rule_based_mix"] and medians["model"] < medians["loudness_matched_sum"]
        assert f"{medians['model']:.3g}" in card
    assert "bleed-only toms" in card and "-30 LUFS" in card
