"""The network: paper configuration sizes, valid lengths, upsampling, saving and strict loading."""

import json

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from mixwave_hf.model import FORMAT_VERSION, MixWaveUNet, upsample
from mixwave_hf.slots import DEFAULT_SLOTS


def parameter_count(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def test_paper_configuration_size_and_lengths():
    model = MixWaveUNet()
    assert parameter_count(model) == 6_183_450
    lengths = model.valid_lengths(88_200)
    assert (lengths.input, lengths.output, lengths.context) == (121_843, 89_093, 16_375)
    assert model.output_length(121_843) == 89_093
    assert model.slot_names == DEFAULT_SLOTS and model.sample_rate == 44_100
    assert len(model.down) == 10 and len(model.up) == 10
    assert [conv.out_channels for conv in model.down] == [24 * (i + 1) for i in range(10)]
    assert model.bottleneck.out_channels == 264 and model.output.out_channels == 2


def test_learned_upsampling_adds_one_weight_per_upsampled_channel():
    assert parameter_count(MixWaveUNet(upsampling="learned")) == 6_183_450 + 24 * sum(range(2, 12))


def test_paper_configuration_forward_shape():
    model = MixWaveUNet()
    with torch.inference_mode():
        assert model(torch.zeros(1, 8, 121_843)).shape == (1, 2, 89_093)


@pytest.mark.parametrize("levels,base,down,up", [(3, 4, 15, 5), (4, 6, 5, 3), (1, 2, 3, 1)])
@pytest.mark.parametrize("wanted", [1, 100, 2_049])
def test_valid_lengths_run_and_step_by_two_to_the_levels(levels, base, down, up, wanted):
    model = MixWaveUNet(levels=levels, base_channels=base, down_kernel=down, bottleneck_kernel=down, up_kernel=up)
    lengths = model.valid_lengths(wanted)
    assert lengths.output >= wanted and lengths.output - 2**levels < max(wanted, model.valid_lengths().output)
    with torch.inference_mode():
        assert model(torch.randn(2, 8, lengths.input)).shape == (2, 2, lengths.output)
    following = model.valid_lengths(lengths.output + 1)
    assert following.input - lengths.input == following.output - lengths.output == 2**levels
    assert model.output_length(following.input) == following.output


def test_invalid_input_length_names_the_nearest_valid_ones():
    model = MixWaveUNet()
    with pytest.raises(ValueError, match=r"121844 is not valid.*121843 or 122867"):
        model(torch.zeros(1, 8, 121_844))
    with pytest.raises(ValueError, match="shortest valid input is 32755"):
        model.output_length(1000)
    with pytest.raises(ValueError, match=r"expected \[batch, 8, samples\]"):
        model(torch.zeros(1, 7, 121_843))


@pytest.mark.parametrize("option", [{"down_kernel": 4}, {"upsampling": "nearest"}, {"slot_names": ["a", "a"]},
                                    {"levels": 0}])
def test_bad_options_are_refused(option):
    with pytest.raises(ValueError):
        MixWaveUNet(**option)


def test_linear_upsampling_is_interpolation_with_aligned_corners():
    features = torch.randn(2, 3, 17)
    expected = F.interpolate(features, size=33, mode="linear", align_corners=True)
    torch.testing.assert_close(upsample(features), expected)
    torch.testing.assert_close(upsample(features, torch.zeros(3)), expected)  # learned starts linear


def test_learned_upsampling_weights_move_the_interpolated_samples():
    features = torch.tensor([[[0.0, 1.0], [0.0, 1.0]]])
    result = upsample(features, torch.tensor([100.0, -100.0]))
    assert result[0, :, 1].tolist() == pytest.approx([0.0, 1.0])


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = MixWaveUNet(levels=3, base_channels=4, upsampling="learned", slot_names=["kick", "snare"],
                        sample_rate=48_000)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["slot_names"] == ["kick", "snare"] and config["sample_rate"] == 48_000
    assert config["format_version"] == FORMAT_VERSION
    loaded = MixWaveUNet.from_pretrained(tmp_path)
    assert loaded.slot_names == ("kick", "snare") and loaded.upsampling == "learned"
    for (name, tensor), (loaded_name, loaded_tensor) in zip(model.state_dict().items(),
                                                            loaded.state_dict().items(), strict=True):
        assert name == loaded_name and torch.equal(tensor, loaded_tensor)
    tracks = torch.randn(1, 2, model.valid_lengths(500).input)
    with torch.inference_mode():
        assert torch.equal(model(tracks), loaded(tracks))


def test_hub_metadata_in_the_model_card(tmp_path):
    MixWaveUNet(levels=2, base_channels=2).save_pretrained(tmp_path)
    card = (tmp_path / "README.md").read_text()
    for field in ["library_name: mixwave-hf", "pipeline_tag: audio-to-audio", "license: apache-2.0",
                  "automatic-mixing", "10.17743/jaes.2020.0031"]:
        assert field in card


def test_missing_tensor_is_refused(tmp_path):
    MixWaveUNet(levels=2, base_channels=2).save_pretrained(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    del tensors["output.bias"]
    save_file(tensors, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"(?s)do not match.*output\.bias"):
        MixWaveUNet.from_pretrained(tmp_path)


def test_unexpected_tensor_is_refused(tmp_path):
    MixWaveUNet(levels=2, base_channels=2).save_pretrained(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    tensors["extra.weight"] = torch.zeros(3)
    save_file(tensors, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"(?s)do not match.*extra\.weight"):
        MixWaveUNet.from_pretrained(tmp_path)


def test_weights_of_another_configuration_are_refused(tmp_path):
    MixWaveUNet(levels=2, base_channels=2).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "base_channels": 3}))
    with pytest.raises(ValueError, match="do not match"):
        MixWaveUNet.from_pretrained(tmp_path)


def test_newer_format_version_is_refused(tmp_path):
    MixWaveUNet(levels=2, base_channels=2).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(ValueError, match="newer than this mixwave-hf understands"):
        MixWaveUNet.from_pretrained(tmp_path)


def test_perspective_is_saved_and_older_configs_load_as_the_drummers(tmp_path):
    MixWaveUNet(levels=2, base_channels=2, perspective="drummer").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["perspective"] == "drummer" and config["format_version"] == FORMAT_VERSION == 3
    assert MixWaveUNet.from_pretrained(tmp_path).perspective == "drummer"
    for version, expected in ((2, "drummer"), (3, "audience")):  # written without the key
        without = {key: value for key, value in config.items() if key != "perspective"}
        (tmp_path / "config.json").write_text(json.dumps({**without, "format_version": version}))
        assert MixWaveUNet.from_pretrained(tmp_path).perspective == expected, version
    with pytest.raises(ValueError, match="perspective 'stage'; expected one of"):
        MixWaveUNet(levels=2, base_channels=2, perspective="stage")
