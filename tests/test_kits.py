"""Kits: the registry, the Hydrogen drumkit reader and player, and the installed sample sources.

The reader tests write tiny drumkits (drumkit.xml and WAVs) of their own; the tests of real kits are
skipped where their Debian packages are not installed (`make data`).
"""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mixwave_hf.data.synth import kits
from mixwave_hf.data.synth.hydrogen import (
    DrumkitError,
    DrumkitInstrument,
    DrumkitLayer,
    HydrogenPlayer,
    read_drumkit,
    read_sample,
)
from mixwave_hf.data.synth.kits import (
    ARTICULATION_OFFSET_DB,
    ARTICULATIONS,
    CALIBRATED_PEAK_DB,
    KITS,
    KitNotInstalledError,
    KitSpec,
    Note,
    drumkit_path,
    kit_credits,
    kit_installed,
)
from mixwave_hf.data.synth.players import kit_player
from mixwave_hf.data.synth.registry import _by_name, _notes

RATE = 44100
NAMESPACE = 'xmlns="http://www.hydrogen-music.org/drumkit"'
# Instrument 0 has a soft layer (1000 samples, gain 4) and a hard one (2000 samples); 1 is an octave up.
LAYERED_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info {NAMESPACE}>
 <name>tiny</name>
 <instrumentList>
  <instrument><id>0</id><name>Drum</name><volume>1</volume><gain>1</gain>
   <instrumentComponent><component_id>0</component_id><gain>1</gain>
    <layer><filename>soft.wav</filename><min>0</min><max>0.5</max><gain>4</gain><pitch>0</pitch></layer>
    <layer><filename>hard.wav</filename><min>0.5</min><max>1</max><gain>1</gain><pitch>0</pitch></layer>
   </instrumentComponent>
  </instrument>
  <instrument><id>1</id><name>High</name>
   <layer><filename>hard.wav</filename><min>0</min><max>1</max><gain>1</gain><pitch>12</pitch></layer>
  </instrument>
  <instrument><id>2</id><name>Slow</name><layer><filename>slow.wav</filename></layer></instrument>
 </instrumentList>
</drumkit_info>
"""
OLD_XML = """<drumkit_info>
 <name>old</name>
 <instrumentList>
  <instrument><id>0</id><filename>hard.wav</filename><name>Kick</name><volume>0.5</volume></instrument>
  <instrument><id>1</id><filename>gone.wav</filename><name>Lost</name></instrument>
 </instrumentList>
</drumkit_info>
"""


def write_drumkit(folder: Path, xml: str) -> Path:
    """A drumkit folder: `xml` as drumkit.xml, soft/hard.wav (constant 0.5, 1000/2000 samples at 44.1 kHz) and
    slow.wav (1000 samples at 22.05 kHz)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "drumkit.xml").write_text(xml)
    soundfile.write(folder / "soft.wav", np.full(1000, 0.5, np.float32), RATE)
    soundfile.write(folder / "hard.wav", np.full(2000, 0.5, np.float32), RATE)
    soundfile.write(folder / "slow.wav", np.full(1000, 0.5, np.float32), RATE // 2)
    return folder


def tiny_kit(monkeypatch, tmp_path: Path, xml: str = LAYERED_XML, **notes) -> KitSpec:
    """A KitSpec of a drumkit written to tmp_path/tiny: every articulation plays instrument 0 unless `notes`
    (_notes' arguments) say otherwise; MIXWAVE_DRUMKIT_DIR points at tmp_path."""
    write_drumkit(tmp_path / "tiny", xml)
    monkeypatch.setenv(kits.DRUMKIT_DIR_VARIABLE, str(tmp_path))
    arguments = {"kick": 0, "snare": 0, "side_stick": 0, "hihat": (0, 0, 0), "toms": (0, 0, 0), "crashes": (0, 0),
                 "ride": 0, "bell": 0, **notes}
    return KitSpec("tiny", "", 0, 0, "none", "CC0-1.0", "test samples", _notes(**arguments), drumkit="tiny",
                   maker="tests")


def test_reader_parses_layers_with_a_namespace_and_old_single_file_instruments(tmp_path):
    instruments = read_drumkit(write_drumkit(tmp_path / "tiny", LAYERED_XML))
    drum = instruments[0]
    assert (drum.name, len(drum.layers), drum.gain) == ("Drum", 2, 1.0)
    assert drum.layers[0] == DrumkitLayer(tmp_path / "tiny" / "soft.wav", 0.0, 0.5, 4.0, 0.0)
    assert instruments[1].layers[0].pitch == 12.0 and instruments[2].layers[0].max_velocity == 1.0
    old = read_drumkit(write_drumkit(tmp_path / "old", OLD_XML) / "drumkit.xml")
    assert old[0].layers == (DrumkitLayer(tmp_path / "old" / "hard.wav"),) and old[0].gain == 0.5
    (tmp_path / "bad.xml").write_text("<drumkit_info><instrumentList><instrument><id>x</id>")
    with pytest.raises(DrumkitError, match="bad.xml: not readable as XML"):
        read_drumkit(tmp_path / "bad.xml")


def test_layer_choice_follows_hydrogen():
    layers = (DrumkitLayer(Path("a"), 0.0, 0.3), DrumkitLayer(Path("b"), 0.2, 0.6), DrumkitLayer(Path("c"), 0.7, 1.0))
    drum = DrumkitInstrument(0, "Drum", layers)
    assert [drum.layer_index(v) for v in (0.0, 0.25, 0.5, 0.8)] == [0, 0, 1, 2]  # the first that holds it
    assert drum.layer_index(0.66) == 2  # in a hole: the layer whose range starts nearest
    with pytest.raises(DrumkitError, match="has no samples"):
        DrumkitInstrument(1, "Empty", ()).layer_index(0.5)


def test_velocity_picks_the_layer_and_the_layer_gain_applies(monkeypatch, tmp_path):
    spec = tiny_kit(monkeypatch, tmp_path, kick=Note(0, 0.0, (1, 40)))
    player = HydrogenPlayer(spec, RATE)
    soft, hard = player.one_shot("snare", "hit", 30), player.one_shot("snare", "hit", 120)
    assert (len(soft), len(hard)) == (1000, 2000)
    # Linear in velocity, times the layer gain: 30 x 4 against 120 x 1.
    assert np.abs(soft).max() == pytest.approx(np.abs(hard).max(), rel=1e-5)
    # A note bounding its layer velocities plays the soft layer however hard it is struck.
    assert len(player.one_shot("kick", "hit", 120)) == 1000
    assert 20 * np.log10(np.abs(player.one_shot("kick", "hit", 100)).max()) == pytest.approx(CALIBRATED_PEAK_DB)


def test_pitch_and_sample_rate_are_played_by_resampling(monkeypatch, tmp_path):
    spec = tiny_kit(monkeypatch, tmp_path, toms=(1, Note(0, -12.0), 2))
    player = HydrogenPlayer(spec, RATE)
    assert len(player.one_shot("tom_1", "hit", 100)) == pytest.approx(1000, abs=20)  # the layer's +12: half
    assert len(player.one_shot("tom_2", "hit", 100)) == pytest.approx(4000, abs=20)  # the note's -12: double
    assert len(player.one_shot("tom_3", "hit", 100)) == pytest.approx(2000, abs=20)  # 22.05 kHz file at 44.1
    assert len(HydrogenPlayer(spec, 48000).one_shot("snare", "hit", 120)) == pytest.approx(2177, abs=20)


def test_stereo_samples_are_summed(tmp_path):
    stereo = np.stack([np.full(100, 0.5, np.float32), np.full(100, 0.1, np.float32)], axis=1)
    soundfile.write(tmp_path / "stereo.wav", stereo, RATE, subtype="FLOAT")
    np.testing.assert_allclose(read_sample(tmp_path / "stereo.wav", RATE), 0.3, rtol=1e-6)


def test_a_missing_sample_file_is_named(monkeypatch, tmp_path):
    spec = tiny_kit(monkeypatch, tmp_path, xml=OLD_XML, ride=1)
    with pytest.raises(DrumkitError, match=r"instrument 1 'Lost': sample file gone.wav is missing from .*tiny"):
        HydrogenPlayer(spec, RATE)


def test_a_missing_drumkit_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(kits, "DRUMKIT_DIR", tmp_path)
    monkeypatch.delenv(kits.DRUMKIT_DIR_VARIABLE, raising=False)
    with pytest.raises(KitNotInstalledError, match="BJA_Pacific not found in .*make data.*hydrogen-drumkits"):
        drumkit_path("h2_bja_pacific")
    assert not kit_installed("h2_gmrock")
    write_drumkit(tmp_path / "elsewhere" / "GMRockKit", OLD_XML)
    monkeypatch.setenv(kits.DRUMKIT_DIR_VARIABLE, str(tmp_path / "elsewhere"))
    assert drumkit_path("h2_gmrock") == tmp_path / "elsewhere" / "GMRockKit"


def test_registry_holds_twenty_kits_of_both_kinds_and_several_makers():
    assert len(KITS) >= 20 and all(name == spec.name for name, spec in KITS.items())
    assert {spec.kind for spec in KITS.values()} == {"acoustic", "electronic"}
    assert len({spec.maker for spec in KITS.values() if spec.kind == "acoustic"}) >= 3
    for spec in KITS.values():
        for piece, articulations in ARTICULATIONS.items():
            assert all(spec.has_note(piece, articulation) for articulation in articulations), (spec.name, piece)
        assert spec.maker and spec.license and spec.attribution and spec.debian_package and spec.description
        assert bool(spec.soundfont) != bool(spec.drumkit)
    with pytest.raises(ValueError, match="'fluid_jazz' given twice"):
        _by_name((KITS["fluid_jazz"], KITS["fluid_jazz"]))
    assert KITS["fluid_brush"].has_note("snare", "brush_sweep")
    assert not KITS["fluid_jazz"].has_note("snare", "brush_tap")


def test_kit_specs_are_checked_and_recorded():
    with pytest.raises(ValueError, match="expected exactly one of them"):
        KitSpec("both", "a.sf2", 0, 0, "p", "MIT", "", drumkit="a")
    with pytest.raises(ValueError, match="kind 'analog'"):
        KitSpec("odd", "a.sf2", 0, 0, "p", "MIT", "", kind="analog")
    with pytest.raises(ValueError, match="only Hydrogen drumkits"):
        KitSpec("sf2", "a.sf2", 0, 0, "p", "MIT", "", _notes(kick=Note(36, 0.0, (1, 64))))
    metadata = KITS["h2_bja_pacific"].as_metadata()
    assert metadata["drumkit"] == "BJA_Pacific" and "soundfont" not in metadata
    assert metadata["notes"]["hihat"]["pedal"] == [2, 0.0, [1, 31]] and metadata["notes"]["kick"]["hit"] == [0, 0.0]
    assert KITS["avl_black_pearl"].as_metadata()["notes"]["tom_2"]["hit"] == [45, -3.0]


def test_kit_credits_give_one_line_per_sample_source():
    lines = kit_credits(["avl_black_pearl", "h2_millo_v1", "avl_red_zeppelin", "h2_millo_ml2", "avl_black_pearl"])
    assert len(lines) == 2
    assert lines[0].startswith("Kits avl_black_pearl, avl_red_zeppelin (licence CC-BY-SA-3.0): AVL Drumkits")
    assert "GPL-2.0" in lines[1] and "Emiliano Grilli" in lines[1] and "hydrogen-drumkits" in lines[1]


def test_makefile_installs_the_packages_of_every_kit():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text().replace("\\\n", " ")
    packages = re.search(r"^DEBIAN_PACKAGES := (.*)$", makefile, re.MULTILINE).group(1).split()
    assert set(packages) == {spec.debian_package for spec in KITS.values()}
    assert all(package in kits.INSTALL_HINT for package in packages)


def check_every_articulation_is_calibrated(name: str) -> None:
    player = kit_player(name)
    for piece, articulations in ARTICULATIONS.items():
        for articulation in articulations:
            shot = player.one_shot(piece, articulation, 100)
            assert shot.dtype == np.float32 and len(shot) > 0.05 * player.sample_rate, (name, piece, articulation)
            expected = CALIBRATED_PEAK_DB + ARTICULATION_OFFSET_DB.get(articulation, 0.0)
            assert 20 * np.log10(np.abs(shot).max()) == pytest.approx(expected, abs=1e-3), (name, piece, articulation)
            assert np.abs(player.one_shot(piece, articulation, 20)).max() > 1e-3, (name, piece, articulation)


@pytest.mark.skipif(not kit_installed("h2_gmrock"), reason="Hydrogen's drumkits not installed: run `make data`")
def test_a_hydrogen_kit_plays_every_articulation_calibrated():
    check_every_articulation_is_calibrated("h2_gmrock")


@pytest.mark.skipif(not kit_installed("musescore_brush") or importlib.util.find_spec("tinysoundfont") is None,
                    reason="MuseScore General soundfont or tinysoundfont not installed: run `make data`")
def test_a_musescore_kit_plays_every_articulation_calibrated():
    check_every_articulation_is_calibrated("musescore_brush")
    brush = kit_player("musescore_brush")
    assert brush.articulations("snare") == ("hit", "side_stick", "brush_tap", "brush_sweep")
    sweep, tap = brush.one_shot("snare", "brush_sweep", 100), brush.one_shot("snare", "brush_tap", 100)
    assert len(sweep) > len(tap)  # the swirl is a long swish
