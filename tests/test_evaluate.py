"""`mixwave evaluate` end to end on a tiny dataset and on one song; the model card carries its figures."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from drums import synthesize_drum_tracks

from mixwave_hf.card import CardError, render_model_card, validate_model_card
from mixwave_hf.cli import main
from mixwave_hf.data.builders import build_dataset, with_rows
from mixwave_hf.data.dataset_card import DatasetDescription
from mixwave_hf.data.schema import Song
from mixwave_hf.evaluate import dataset_songs, summarise
from mixwave_hf.model import MixWaveUNet

RATE = 44_100
NAMES = {"kick": "Kick", "snare": "snare", "hihat": "hi-hat", "tom_1": "tom_1", "overhead_L": "OH L",
         "overhead_R": "OH R"}


def song(index: int, seconds: float = 2.5) -> Song:
    tracks = synthesize_drum_tracks(seconds, RATE, seed=index)
    recorded = {NAMES[slot]: audio for slot, audio in tracks.items() if slot in NAMES}
    recorded["Room"] = tracks["overhead_L"] * 0.5  # a mic matching no slot
    wet = np.stack([tracks["overhead_L"] + 0.5 * tracks["kick"], tracks["overhead_R"] + 0.5 * tracks["kick"]])
    return Song(f"song_{index}", recorded, wet.astype(np.float32), None, RATE, "test", "cc0")


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "dataset"
    songs = [("test", song(index)) for index in range(3)]
    build_dataset(with_rows(songs, segment_seconds=1.0), out, DatasetDescription("t", "cc0", "test"),
                  train_shards=1)
    return out


def test_songs_are_reassembled_from_their_segments(dataset_dir):
    songs = list(dataset_songs(str(dataset_dir), "test", "wet"))
    assert [item.song_id for item in songs] == ["song_0", "song_1", "song_2"]
    original = song(1)
    np.testing.assert_allclose(songs[1].tracks["Kick"], original.tracks["Kick"], atol=1e-6)  # 24-bit FLAC
    np.testing.assert_allclose(songs[1].reference, original.wet_mix, atol=1e-6)
    assert list(dataset_songs(str(dataset_dir), "test", "dry")) == []  # no dry mix in this dataset


def test_evaluate_a_dataset_end_to_end(dataset_dir, tiny_model_dir, tmp_path, capsys):
    output = tmp_path / "evaluation.json"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--dataset", str(dataset_dir), "--split", "test",
                 "--output", str(output), "--examples", "1", "--examples-dir", str(tmp_path / "examples")]) == 0
    printed = capsys.readouterr().out
    assert "stereo_stft_loudness_matched" in printed and "plain sum" in printed and "3 songs" in printed
    evaluation = json.loads(output.read_text())
    assert evaluation["songs"] == 3 and evaluation["split"] == "test"
    assert set(evaluation["systems"]) == {"model", "plain_sum", "loudness_matched_sum", "rule_based_mix"}
    summary = evaluation["systems"]["plain_sum"]["summary"]["stereo_stft_loudness_matched"]
    per_song = [scores["stereo_stft_loudness_matched"]
                for scores in evaluation["systems"]["plain_sum"]["per_song"].values()]
    assert summary["median"] == pytest.approx(float(np.median(per_song)))
    written = sorted(path.name for path in (tmp_path / "examples" / "song_0").iterdir())
    assert written == ["loudness_matched_sum.wav", "model.wav", "plain_sum.wav", "reference.wav",
                       "rule_based_mix.wav"]
    assert soundfile.info(tmp_path / "examples" / "song_0" / "model.wav").frames == int(2.5 * RATE)


def test_evaluate_one_song_from_stems(tiny_model_dir, tmp_path, capsys):
    tracks = synthesize_drum_tracks(2.0, RATE, seed=7)
    stems = tmp_path / "stems"
    stems.mkdir()
    for slot, audio in tracks.items():
        soundfile.write(stems / f"{slot}.wav", audio, RATE)
    reference = tmp_path / "mix.wav"
    soundfile.write(reference, np.stack([tracks["overhead_L"], tracks["overhead_R"]], axis=1), RATE)
    output = tmp_path / "one.json"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--stems", str(stems), "--reference", str(reference),
                 "--output", str(output)]) == 0
    evaluation = json.loads(output.read_text())
    assert evaluation["songs"] == 1 and evaluation["dataset"] == str(reference)
    assert main(["evaluate", "--model", str(tiny_model_dir), "--stems", str(stems)]) == 1
    assert "--stems needs --reference" in capsys.readouterr().err


def test_summary_skips_nan_and_gives_quartiles():
    summary = summarise([{"a": 1.0, "b": float("nan")}, {"a": 2.0, "b": float("nan")}, {"a": 3.0, "b": 1.0},
                         {"a": 4.0, "b": 2.0}])
    assert summary["a"] == {"median": 2.5, "q1": 1.75, "q3": 3.25, "songs": 4}
    assert summary["b"]["songs"] == 2 and summary["b"]["median"] == 1.5


def test_card_renders_validates_and_carries_the_figures(dataset_dir, tiny_model_dir, tmp_path):
    output = tmp_path / "evaluation.json"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--dataset", str(dataset_dir),
                 "--output", str(output)]) == 0
    evaluation = json.loads(output.read_text())
    model = MixWaveUNet.from_pretrained(tiny_model_dir)
    training = {"data": "a tiny test dataset", "steps": 0, "hardware": "none (untrained)"}
    card = render_model_card(model, repo_id="someorg/tiny", evaluation=evaluation, training=training,
                             datasets=["someorg/tiny-drums"], synthetic_only=True)
    text = str(card)
    median = evaluation["systems"]["model"]["summary"]["stereo_stft_loudness_matched"]["median"]
    assert f"{median:.3g}" in text and "(oracle)" in text and "synthetic drums only" in text
    assert card.data.library_name == "mixwave-hf" and card.data.pipeline_tag == "audio-to-audio"
    assert card.data.datasets == ["someorg/tiny-drums"]
    results = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert results["stereo_stft_loudness_matched"] == pytest.approx(median, rel=1e-5)
    crest = evaluation["systems"]["model"]["summary"]["crest_factor_error_db"]["median"]
    dry = str(render_model_card(model, evaluation=evaluation, extra_evaluations=[evaluation | {"target": "dry"}]))
    assert f"crest factor (peak over RMS) lies a median {crest:.2g} dB" in dry and "Dynamics:" not in text
    model.save_pretrained(tmp_path / "saved", model_card_kwargs={"evaluation": evaluation, "repo_id": "someorg/tiny"})
    assert f"{median:.3g}" in (tmp_path / "saved" / "README.md").read_text()
    broken = evaluation | {"systems": {**evaluation["systems"]}}
    with pytest.raises(CardError, match="model-index holds"):
        validate_model_card(card, broken | {"systems": {"model": {"summary": {"x": {"median": 1.0}}}},
                                            "metrics": {"x": {"unit": "u"}}})


def test_push_renders_the_card_for_the_repo(hub_server, dataset_dir, tiny_model_dir, tmp_path, capsys):
    import shutil

    from huggingface_hub import HfApi, hf_hub_download

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    assert main(["evaluate", "--model", str(folder), "--dataset", str(dataset_dir),
                 "--output", str(folder / "evaluation.json")]) == 0
    (folder / "training.json").write_text(json.dumps({"training": {"steps": 0, "hardware": "none"},
                                                      "datasets": ["someorg/tiny-drums"], "synthetic_only": True}))
    assert main(["push", str(folder), "someorg/evaluated-mixer", "--private"]) == 0
    assert "uploaded" in capsys.readouterr().out
    card = Path(hf_hub_download("someorg/evaluated-mixer", "README.md")).read_text()
    evaluation = json.loads((folder / "evaluation.json").read_text())
    median = evaluation["systems"]["model"]["summary"]["stereo_stft_loudness_matched"]["median"]
    assert 'from_pretrained("someorg/evaluated-mixer")' in card and f"{median:.3g}" in card
    assert "synthetic drums only" in card and "someorg/tiny-drums" in card
    assert HfApi().model_info("someorg/evaluated-mixer").private
    assert {"evaluation.json", "training.json", "model.safetensors", "config.json"} <= set(
        HfApi().list_repo_files("someorg/evaluated-mixer"))
    loaded = MixWaveUNet.from_pretrained("someorg/evaluated-mixer")
    assert loaded.levels == 4
    assert main(["push", str(tmp_path), "someorg/nothing"]) == 1
    assert "no model.safetensors" in capsys.readouterr().err


def test_stress_songs_are_grouped_by_their_toms_and_reported_apart(tiny_model_dir):
    """The synthetic stress split records how each song's toms are played; evaluation reports the
    bleed-only-tom songs (and the others) apart, beside the whole split."""
    from mixwave_hf.evaluate import TOM_GROUPS, EvaluationSong, evaluate
    from mixwave_hf.results import format_table

    model = MixWaveUNet.from_pretrained(tiny_model_dir)
    songs = []
    for index, toms in enumerate(["never", "never", "barely", None]):
        tracks = synthesize_drum_tracks(1.0, RATE, seed=index)
        metadata = {"stress": {"toms": toms}} if toms else {}
        reference = np.stack([tracks["overhead_L"], tracks["overhead_R"]])
        songs.append(EvaluationSong(f"s{index}", tracks, reference, RATE, metadata))
    assert [song.tom_group for song in songs] == [TOM_GROUPS["never"], TOM_GROUPS["never"], TOM_GROUPS["barely"], None]
    evaluation = evaluate(model, songs)
    groups = evaluation["groups"]
    assert list(groups) == sorted([TOM_GROUPS["never"], TOM_GROUPS["barely"]])
    never = groups[TOM_GROUPS["never"]]
    assert never["songs"] == ["s0", "s1"]
    per_song = [evaluation["systems"]["model"]["per_song"][song_id]["stereo_stft_loudness_matched"]
                for song_id in ("s0", "s1")]
    assert never["summary"]["model"]["stereo_stft_loudness_matched"]["median"] == pytest.approx(np.median(per_song))
    assert f"{TOM_GROUPS['never']} (2 songs)" in format_table(evaluation)


def test_card_shows_a_second_split_its_groups_and_what_levelling_does(dataset_dir, tiny_model_dir, tmp_path):
    """evaluation-SPLIT.json beside evaluation.json: its own table, group lines, and results in the model-index."""
    from mixwave_hf.publish import saved_card_options

    output = tmp_path / "evaluation.json"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--dataset", str(dataset_dir),
                 "--output", str(output)]) == 0
    evaluation = json.loads(output.read_text())
    stress = evaluation | {"split": "stress", "groups": {"bleed-only toms (never played)": {
        "songs": ["song_0"], "summary": {name: system["summary"] for name, system in evaluation["systems"].items()}}}}
    folder = tmp_path / "model"
    levelled = MixWaveUNet(levels=3, base_channels=2, levelling="close_strokes", output_init="balance")
    levelled.save_pretrained(folder)
    output.rename(folder / "evaluation.json")
    (folder / "evaluation-stress.json").write_text(json.dumps(stress))
    options = saved_card_options(folder)
    assert [item["split"] for item in options["extra_evaluations"]] == ["stress"]
    card = render_model_card(levelled, **options)
    text = str(card)
    assert "### Split `stress`" in text and "bleed-only toms (never played) (1 songs)" in text
    assert "-30 LUFS" in text and "strokes" in text and "peak limiter" in text
    splits = {result.dataset_split for result in card.data.eval_results}
    assert splits == {"test", "stress"}
    assert "raw recorded levels" in str(render_model_card(MixWaveUNet.from_pretrained(tiny_model_dir)))


def test_card_says_what_intensity_does_with_this_models_output_layer():
    balanced = str(render_model_card(MixWaveUNet(levels=2, base_channels=2, output_init="balance")))
    assert "static + intensity x processed" in balanced and "trained from a static balance" in balanced
    plain = str(render_model_card(MixWaveUNet(levels=2, base_channels=2)))
    assert "trained without the balance initialisation" in plain and "6 LU from the full mix" in plain
