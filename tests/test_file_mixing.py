"""`mix_files` (streamed, from files to a file) equals `mix_tracks` on the same files read whole: the mix, the
report and the warnings; its measures equal `measure_levelling`'s; a failure leaves no file."""

import functools
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from drums import synthesize_drum_tracks

import mixwave_hf.file_mixing as file_mixing
from mixwave_hf.audio import AudioError, read_tracks, remove_dc, resample
from mixwave_hf.data.synth import KITS, kit_installed, render_song
from mixwave_hf.data.synth.conditions import SESSION_CONDITIONS
from mixwave_hf.file_mixing import mix_files
from mixwave_hf.loudness import measure_levelling
from mixwave_hf.mixing import mix_tracks, warnings_beyond_reading
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.slots import DEFAULT_SLOTS
from mixwave_hf.song_files import open_song
from mixwave_hf.song_measures import measure_song

needs_kits = pytest.mark.skipif(not all(kit_installed(kit) for kit in KITS),
                                reason="drum soundfonts or tinysoundfont not installed: run `make data`")
#: The largest difference between the two mixes seen in any test, by output format (printed by the last test).
LARGEST_DIFFERENCE: dict[str, float] = {}


@functools.cache
def model(levelling: str | None = None, hot: bool = False) -> MixWaveUNet:
    torch.manual_seed(0)
    options = {"levelling": levelling, "output_init": "balance"} if levelling else {}
    made = MixWaveUNet(levels=4, base_channels=4, **options).eval()
    if hot:
        with torch.no_grad():
            made.output.bias[0] = 1.5  # the left channel peaks above full scale: the limiter engages
    return made


def write_files(folder: Path, tracks: dict[str, np.ndarray], rate: int, rates: dict[str, int] | None = None,
                subtype: str = "FLOAT") -> dict[str, Path]:
    """Each track as a file (at rates[name] where given, resampled from `rate`); {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, audio in tracks.items():
        file_rate = (rates or {}).get(name, rate)
        audio = resample(np.atleast_2d(audio).astype(np.float32), rate, file_rate)
        files[name] = folder / f"{name}.wav"
        soundfile.write(files[name], audio.T, file_rate, subtype=subtype)
    return files


def assert_same_mix(mixer: MixWaveUNet, files: dict[str, Path], output: Path, sample_rate: int | None = None,
                    output_format: str = "float", **options) -> None:
    """mix_files writes what mix_tracks mixes of the files read whole (within 1e-6: float rounding, or a 24-bit
    file's step), and reports the same."""
    tracks, rate, read_warnings = read_tracks(files, sample_rate, max_channels=2)
    expected = mix_tracks(mixer, tracks, rate, **options)
    mixed = mix_files(mixer, files, output, sample_rate=sample_rate, output_format=output_format, **options)
    written, written_rate = soundfile.read(output, dtype="float32", always_2d=True)
    assert written_rate == rate and written.T.shape == expected.audio.shape
    difference = float(np.abs(written.T - expected.audio).max(initial=0.0))
    LARGEST_DIFFERENCE[output_format] = max(LARGEST_DIFFERENCE.get(output_format, 0.0), difference)
    assert difference <= 1e-6, difference
    assert mixed.audio is None and mixed.samples == expected.audio.shape[-1] and mixed.sample_rate == rate
    assert (mixed.peak, mixed.limited_samples, mixed.clipped_samples) == \
        (pytest.approx(expected.peak, rel=1e-6), expected.limited_samples, expected.clipped_samples)
    assert mixed.input_gains_db == expected.input_gains_db and mixed.bleed_only == expected.bleed_only
    assert (mixed.trims_db, mixed.intensity, mixed.perspective) == \
        (expected.trims_db, expected.intensity, expected.perspective)
    assert mixed.warnings == read_warnings + warnings_beyond_reading(expected, tracks)
    assert mixed.output_peak == pytest.approx(float(np.abs(expected.audio).max(initial=0.0)), abs=1e-6)


@pytest.fixture(scope="module")
def drums() -> dict[str, np.ndarray]:
    return synthesize_drum_tracks(seconds=3.0, sample_rate=48_000, seed=5)


@pytest.mark.parametrize("options", [
    {},
    {"intensity": 0.5, "trims": {"snare": 3.0, "overheads": -2.0}},
    {"perspective": "drummer", "peak_ceiling_db": None},
    {"perspective": "audience", "window_seconds": 0.37, "batch_size": 3},
])
@pytest.mark.parametrize("levelling", [None, "close_strokes"])
def test_the_mix_of_48_khz_files_equals_mix_tracks(drums, tmp_path, options, levelling):
    files = write_files(tmp_path / "stems", drums, 48_000)
    assert_same_mix(model(levelling), files, tmp_path / "mix.wav", **options)


def test_files_at_several_rates_a_stereo_pair_and_missing_slots(drums, tmp_path):
    tracks = {"kick": drums["kick"], "snare": np.stack([drums["snare"], drums["hihat"]]),  # stereo: downmixed
              "overheads": np.stack([drums["overhead_L"], drums["overhead_R"]]), "tom_2": drums["tom_2"][:50_000]}
    files = write_files(tmp_path / "stems", tracks, 48_000, rates={"snare": 44_100, "tom_2": 22_050})
    assert_same_mix(model("close_strokes"), files, tmp_path / "mix.wav")
    assert_same_mix(model(), files, tmp_path / "mix-32k.flac", sample_rate=32_000, output_format="pcm24")


def test_mono_overheads_a_dc_offset_and_24_bit_files(drums, tmp_path):
    tracks = {"kick": drums["kick"] + 0.05, "hihat": drums["hihat"], "overheads": drums["overhead_L"]}
    files = write_files(tmp_path / "stems", tracks, 48_000, subtype="PCM_24")
    for levelling in (None, "close_strokes", "loud_part", "integrated"):
        assert_same_mix(model(levelling), files, tmp_path / f"{levelling}.wav", intensity=0.5)


def test_the_limiter_and_its_report_equal_mix_tracks(drums, tmp_path):
    files = write_files(tmp_path / "stems", drums, 48_000)
    for ceiling in (-1.0, -6.0, None):
        assert_same_mix(model(hot=True), files, tmp_path / "hot.wav", peak_ceiling_db=ceiling)


def test_silent_empty_and_very_short_songs(tmp_path):
    silent = write_files(tmp_path / "silent", {"kick": np.zeros(3_000)}, 44_100)
    assert_same_mix(model(), silent, tmp_path / "silent.wav")
    empty = write_files(tmp_path / "empty", {"kick": np.zeros(0), "snare": np.zeros(0)}, 44_100)
    assert_same_mix(model(), empty, tmp_path / "empty.wav")
    short = write_files(tmp_path / "short", {"kick": np.full(7, 0.3), "snare": np.zeros(0)}, 48_000)
    assert_same_mix(model("close_strokes"), short, tmp_path / "short.wav")


def session(seed: int, rate: int = 44_100, seconds: float = 8.0) -> dict[str, np.ndarray]:
    """A rendered session (real kit samples, bleed between the mics) with its toms drawn as never played."""
    return render_song(seed, "avl_black_pearl", seconds, rate, conditions=SESSION_CONDITIONS,
                       recipe="session").tracks


@needs_kits
@pytest.mark.parametrize("seed,rate,level_db", [(3, 44_100, 0.0), (11, 48_000, 0.0), (3, 44_100, -45.0)])
def test_bleed_aware_measures_and_mix_equal_the_whole_song_path(tmp_path, seed, rate, level_db):
    """Also for a quiet session (recorded 45 dB low), which both paths measure raised to QUIET_SESSION_PEAK_DB."""
    tracks = {slot: audio * 10 ** (level_db / 20) for slot, audio in session(seed, rate).items()
              if slot in DEFAULT_SLOTS}
    tracks["tom_2"] = tracks["tom_2"] + 0.02  # a DC offset: this mic is measured again without it
    files = write_files(tmp_path / "stems", tracks, rate)
    mixer = model("bleed_aware")
    song = open_song(files, mixer.slot_names)
    measures = measure_song(song, mixer)
    whole, _, _ = read_tracks(files)
    arranged = np.stack([resample(whole[slot][0], rate, 44_100) for slot in mixer.slot_names])
    arranged, offsets = remove_dc(arranged, 44_100)
    expected = measure_levelling(arranged, 44_100, "bleed_aware", mixer.levelling_lufs, mixer.slot_names)
    np.testing.assert_array_equal(measures.offsets, offsets)
    assert measures.levelling.verdicts == expected.verdicts and "played" in expected.verdicts
    for found, wanted in zip(measures.levelling.stroke_onsets, expected.stroke_onsets, strict=True):
        np.testing.assert_array_equal(found, wanted)
    # 1e-6 dB: a session peaking a hair under QUIET_SESSION_PEAK_DB is raised by ~3e-7 dB, a gain float32
    # tracks (the whole-song path) round to 1 and the streamed powers (float64) keep
    np.testing.assert_allclose(measures.levelling.gains_db, expected.gains_db, rtol=0, atol=1e-6)
    assert_same_mix(mixer, files, tmp_path / "mix.wav", intensity=0.5)


@needs_kits
def test_bleed_only_toms_are_found_and_reported_as_mix_tracks_does(tmp_path):
    tracks = {slot: audio for slot, audio in session(0, seconds=10.0).items() if slot in DEFAULT_SLOTS}
    files = write_files(tmp_path / "stems", tracks, 44_100)
    mixed = mix_files(model("bleed_aware"), files, tmp_path / "mix.wav")
    expected = mix_tracks(model("bleed_aware"), read_tracks(files)[0], 44_100)
    assert mixed.bleed_only == expected.bleed_only
    assert_same_mix(model("bleed_aware"), files, tmp_path / "mix.wav")


def test_a_failure_leaves_no_file_and_errors_name_the_input(drums, tmp_path, monkeypatch):
    files = write_files(tmp_path / "stems", drums, 48_000)
    output = tmp_path / "out" / "mix.wav"

    def broken(*args, **kwargs):
        yield np.zeros((2, 10), np.float32)
        raise RuntimeError("the network failed half way")

    monkeypatch.setattr(file_mixing, "mixed_blocks", broken)
    with pytest.raises(RuntimeError, match="half way"):
        mix_files(model(), files, output)
    assert not output.exists() and list(output.parent.iterdir()) == []
    monkeypatch.undo()
    bad = np.zeros(2_000, np.float32)
    bad[[5, 1_500]] = np.nan
    files["snare"] = write_files(tmp_path / "bad", {"snare": bad}, 48_000)["snare"]
    with pytest.raises(AudioError, match="snare.wav: 2 NaN or infinite samples"):
        mix_files(model(), files, output)
    with pytest.raises(ValueError, match="intensity"):
        mix_files(model(), files, output, intensity=2.0)
    assert not output.exists()


def test_largest_difference_seen(capsys):
    with capsys.disabled():
        print(f"\nlargest |mix_files - mix_tracks| over this module's mixes, by output format: {LARGEST_DIFFERENCE}")
