"""One typed configuration: the model's options (`MixWaveUNetConfig`), the data's (`CropOptions`, `StreamingOptions`,
`ValidationOptions`) and the run's, nested in `TrainingConfig`, each option declared once with its help text."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest
import yaml

from mixwave_hf.data.loader import CropConfig, CropOptions, StreamingOptions, ValidationOptions
from mixwave_hf.model import MixWaveUNet, MixWaveUNetConfig
from mixwave_hf.training import (
    FLAT_DATA_KEYS,
    OPTION_FLAGS,
    ConfigError,
    TrainingConfig,
    build_parser,
    load_config_file,
    option_fields,
    resolve_config,
)
from mixwave_hf.training.config import upgraded_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MISSING = object()


def lookup(values: dict, path: str):
    for key in path.split("."):
        if not isinstance(values, dict) or key not in values:
            return MISSING
        values = values[key]
    return values


def test_the_default_config_file_writes_out_every_option_with_its_default() -> None:
    written = yaml.safe_load((CONFIGS / "train_default.yaml").read_text())
    defaults = TrainingConfig().as_dict()
    defaults["data"]["crops"]["gain_db"] = None  # null: the gain the model's levelling allows (6 dB here)
    paths = [path for path, _, _ in option_fields()]
    missing = [path for path in paths if lookup(written, path) is MISSING]
    assert not missing, f"configs/train_default.yaml lacks {missing}"
    differing = [path for path in paths if lookup(written, path) != lookup(defaults, path)]
    assert not differing, f"configs/train_default.yaml differs from the defaults at {differing}"


@pytest.mark.parametrize("name", sorted(path.name for path in CONFIGS.glob("*.yaml")))
def test_every_config_file_reads_without_old_keys(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        config = TrainingConfig.from_dict(load_config_file(CONFIGS / name))
    assert config.data.crops.gain_db is not None


def test_every_option_carries_its_help_and_the_flags_show_it() -> None:
    for path, option, _ in option_fields():
        assert option.metadata.get("help", "").strip(), f"{path} has no help text"
    actions = {action.option_strings[0]: action for action in build_parser()._actions if action.option_strings}
    helps = {path: option.metadata["help"] for path, option, _ in option_fields()}
    for flag, key in OPTION_FLAGS.items():
        assert actions[flag].help == f"{helps[key]} ({key})"
    assert actions["--target"].choices == ["wet", "dry"] and actions["--init-from"].metavar == "MODEL"
    assert actions["--steps"].type is int and actions["--lr"].type is float
    assert actions["--ema-decay"].type("none") is None and actions["--ema-decay"].type("0.5") == 0.5


def test_old_flat_data_keys_are_read_for_one_release_with_a_warning(tmp_path) -> None:
    flat = {"data": {"gain_db": 0.0, "shuffle": False, "validation_max_crops": 3, "num_workers": 1}}
    nested = {"data": {"crops": {"gain_db": 0.0}, "streaming": {"shuffle": False}, "validation": {"max_crops": 3},
                       "num_workers": 1}}
    with pytest.warns(FutureWarning) as caught:
        old = TrainingConfig.from_dict(flat)
    assert sorted(str(warning.message) for warning in caught) == [
        f"data.{key} is now data.{FLAT_DATA_KEYS[key]}; the flat key is read for one more release"
        for key in ("gain_db", "shuffle", "validation_max_crops")]
    assert old == TrainingConfig.from_dict(nested)
    assert set(FLAT_DATA_KEYS) == {"target", "crop_output_samples", "crops_per_segment", "gain_db",
                                   "min_segment_seconds", "shuffle", "seed", "shuffle_buffer_segments",
                                   "shuffle_buffer_crops", "validation_crops_per_segment", "validation_max_crops"}
    with pytest.raises(ConfigError, match="data.gain_db and data.crops.gain_db are one"):
        TrainingConfig.from_dict({"data": {"gain_db": 0.0, "crops": {"gain_db": 1.0}}})
    args = build_parser().parse_args(["--dataset", "org/drums", "--output-dir", str(tmp_path),
                                      "--set", "data.target=dry", "--set", "data.crops.crops_per_segment=3"])
    with pytest.warns(FutureWarning, match="data.target is now data.crops.target"):
        config = resolve_config(args)
    assert (config.data.crops.target, config.data.crops.crops_per_segment) == ("dry", 3)


def test_a_run_started_with_flat_keys_resumes_without_reporting_them_as_changed() -> None:
    from mixwave_hf.training.checkpoints import _changed_options

    now = TrainingConfig().as_dict()
    data = now["data"]
    flat = {**{key: value for key, value in data.items() if key not in ("crops", "streaming", "validation")},
            **{old: data[group][name] for old, (group, _, name) in
               ((old, new.partition(".")) for old, new in FLAT_DATA_KEYS.items())}}
    assert _changed_options(upgraded_config({**now, "data": flat}), now) == []


def test_nested_options_are_checked_by_their_owner_and_named_by_their_path() -> None:
    with pytest.raises(ConfigError, match=r"data.validation: max_crops=0; expected an integer >= 1"):
        TrainingConfig.from_dict({"data": {"validation": {"max_crops": 0}}})
    with pytest.raises(ConfigError, match=r"data.crops: unknown option\(s\) \['gain'\]"):
        TrainingConfig.from_dict({"data": {"crops": {"gain": 1}}})
    with pytest.raises(ConfigError, match=r"data.streaming: shuffle_buffer_crops=0"):
        TrainingConfig.from_dict({"data": {"streaming": {"shuffle_buffer_crops": 0}}})
    with pytest.raises(ValueError, match="max_crops=0"):
        ValidationOptions(max_crops=0)
    with pytest.raises(ValueError, match="seed=-1"):
        StreamingOptions(seed=-1)
    with pytest.raises(ValueError, match="target='mid'"):
        CropOptions(target="mid")


def test_the_levelling_rule_lives_in_the_crop_config() -> None:
    """Levelling cancels input gains: a gain of None is 0 with levelling and 6 dB without; a gain is refused
    with it, wherever the crops are made (the readers, a TrainingConfig)."""
    levelled = MixWaveUNetConfig(levels=2, base_channels=2, levelling="close_strokes")
    assert CropConfig.for_model(levelled).gain_db == 0.0
    assert CropConfig.for_model(MixWaveUNetConfig(levels=2, base_channels=2)).gain_db == 6.0
    assert CropConfig().gain_db == 6.0 and CropConfig(levelling="integrated").gain_db == 0.0
    with pytest.raises(ValueError, match="gain_db=1.0 with levelling='close_strokes'"):
        CropConfig.for_model(levelled, CropOptions(gain_db=1.0))
    assert TrainingConfig(model=levelled).data.crops.gain_db == 0.0


def test_the_model_is_made_from_its_config_and_saves_it_key_for_key(tmp_path) -> None:
    config = MixWaveUNetConfig(levels=2, base_channels=2, slot_names=["kick", "snare"], output_init="balance",
                               balance_gain_db=3.0)
    assert config.slot_names == ("kick", "snare")
    model = MixWaveUNet(config)
    assert model.config is config and (model.levels, model.slot_names) == (2, ("kick", "snare"))
    assert MixWaveUNet(levels=2, base_channels=2, slot_names=["kick", "snare"], output_init="balance",
                       balance_gain_db=3.0).config == config
    assert MixWaveUNet(config, levels=3).config == dataclasses.replace(config, levels=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.levels = 3
    with pytest.raises(AttributeError):
        model.levels = 3
    with pytest.raises(TypeError, match=r"unknown model option\(s\) \['levls'\]"):
        MixWaveUNet(levls=2)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved == json.loads(json.dumps(dataclasses.asdict(config)))
    assert MixWaveUNet.from_pretrained(tmp_path).config == config
    assert config.valid_lengths(100) == model.valid_lengths(100)
