"""The web demo (app.py, mixwave_hf/demo.py), served on 127.0.0.1 inside the tests.

`gradio_client` drives the API the page uses (`/assign`, `/mix`); a real browser (Debian chromium +
playwright) drives the page itself. Nothing leaves the machine: analytics and telemetry are off, the
browser aborts every request to another host, and the model is a tiny one saved by the test.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import httpx
import numpy as np
import pytest
import soundfile

pytest.importorskip("gradio", reason="the demo needs the `demo` extra (gradio)")
from gradio_client import Client, handle_file

from mixwave_hf.audio import gain_and_pan, read_tracks
from mixwave_hf.demo import EMPTY, Limits, build_demo, launch_options
from mixwave_hf.mixing import mix_tracks
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.resources import example_stems

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Where the browser test saves its screenshots of the page (CI keeps build/ as artifacts).
SCREENSHOT_DIR = REPO_ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Small limits, so that the tests can exceed them with small files.
TEST_LIMITS = Limits(max_seconds=60.0, max_file_bytes=4_000_000, max_files=12)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tiny_model_dir, tmp_path_factory):
    """The demo launched in this process on a free 127.0.0.1 port, with its own GRADIO_TEMP_DIR."""
    temp_dir = tmp_path_factory.mktemp("gradio-temp")
    saved = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(temp_dir)
    demo = build_demo(MixWaveUNet.from_pretrained(tiny_model_dir), TEST_LIMITS, model_name="a tiny test model")
    try:
        options = launch_options(TEST_LIMITS)
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                                quiet=True, **options)
        yield url
    finally:
        demo.close()
        if saved is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = saved


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False, download_files=True)


def assign(client: Client, paths: list[Path]) -> tuple[list, str]:
    """(the slot menus' values, the assignment note) for uploading `paths`."""
    *updates, note = client.predict([handle_file(str(path)) for path in paths], api_name="/assign")
    return [update["value"] for update in updates], note  # each menu comes back as an update of its choices


def check_mix_file(path: str | Path, sample_rate: int, frames: int) -> np.ndarray:
    """The mix WAV is stereo 32-bit float at `sample_rate`, `frames` long, not silent and not clipped."""
    info = soundfile.info(str(path))
    assert (info.channels, info.samplerate, info.frames, info.subtype) == (2, sample_rate, frames, "FLOAT")
    audio, _ = soundfile.read(str(path), dtype="float32")
    assert np.sqrt(np.mean(audio**2)) > 1e-4, "the mix is silent"
    assert np.count_nonzero(np.abs(audio) >= 1.0) == 0, "the mix is clipped"
    return audio


def test_app_module_imports_without_launching(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("MIXWAVE_MODEL", str(tiny_model_dir))
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    sys.modules.pop("app", None)
    import app

    try:
        assert app.demo.is_running is False
        assert app.arguments.model == str(tiny_model_dir)
    finally:
        sys.modules.pop("app", None)


def test_client_mixes_the_bundled_example(client):
    stems = example_stems()
    menus, note = assign(client, stems)
    assert menus == [path.name for path in stems] + [EMPTY]  # 8 slots, then the unused overhead pair
    assert "8 of 8 files assigned" in note

    mix_path, download_path, plain_path, report, *_plots, levels = client.predict(
        [handle_file(str(path)) for path in stems], *menus, api_name="/mix")
    info = soundfile.info(str(stems[0]))
    mix = check_mix_file(download_path, info.samplerate, info.frames)
    played, _ = soundfile.read(mix_path, dtype="float32")
    np.testing.assert_array_equal(played, mix)  # the player gets the very same file, not a normalised copy
    plain, _ = soundfile.read(plain_path, dtype="float32")
    assert plain.shape == mix.shape and not np.array_equal(plain, mix)
    assert "Mixed" in report and "kick ← 01_Kick.flac" in report
    assert [row[0] for row in levels["data"]] == ["kick", "snare", "hihat", "tom_1", "tom_2", "tom_3",
                                                  "overhead_L", "overhead_R"]


def test_client_remixes_with_trims_and_intensity_as_mix_tracks_does(client, tiny_model_dir):
    """The sliders reach `mix_tracks`: the demo's mix equals the API's at the same trims and intensity,
    and the static-balance table shows the output layer's gain and pan per track."""
    stems = example_stems()
    menus, _ = assign(client, stems)
    model = MixWaveUNet.from_pretrained(tiny_model_dir).eval()
    trims = {slot: 0.0 for slot in model.slot_names} | {"snare": 6.0, "overhead_L": -3.0}
    _, download_path, _, report, *outputs = client.predict(
        [handle_file(str(path)) for path in stems], *menus, 0.5, *trims.values(), api_name="/mix")
    balance = outputs[-3]
    assert "Intensity 0.5; trims: snare +6.0 dB, overhead_L -3.0 dB; audience's perspective." in report

    tracks, rate, _ = read_tracks(dict(zip(model.slot_names, stems, strict=True)))
    expected = mix_tracks(model, tracks, rate, trims=trims, intensity=0.5).audio
    played, _ = soundfile.read(download_path, dtype="float32")
    np.testing.assert_allclose(played.T, expected, atol=1e-6)
    default, _ = soundfile.read(client.predict([handle_file(str(path)) for path in stems], *menus,
                                               api_name="/mix")[1], dtype="float32")
    assert np.abs(default - played).max() > 1e-3  # the defaults (intensity 1, no trims) are another mix

    rows = {row[0]: dict(zip(balance["headers"], row, strict=True)) for row in balance["data"]}
    assert list(rows) == list(model.slot_names)
    gains = model.static_part_gains()
    for index, slot in enumerate(model.slot_names):
        gain_db, pan = gain_and_pan(float(gains[0, index]), float(gains[1, index]))
        assert rows[slot]["static gain (dB)"] == pytest.approx(gain_db, abs=0.051)
        assert rows[slot]["static pan (L -1 .. R +1)"] == pytest.approx(pan, abs=0.0051)
        assert rows[slot]["trim (dB)"] == trims[slot]


def test_client_mixes_from_the_drummers_perspective_as_mix_tracks_does(client, tiny_model_dir):
    """The perspective switch reaches `mix_tracks`: the demo's drummer mix is the API's drummer mix, the
    audience mix mirrored (overhead files kept on their sides), and the static-balance pans follow it."""
    stems = example_stems()
    menus, _ = assign(client, stems)
    model = MixWaveUNet.from_pretrained(tiny_model_dir).eval()
    zero_trims = [0.0] * len(model.slot_names)
    outputs = {}
    for perspective in ("audience", "drummer"):
        _, download_path, _, report, *rest = client.predict(
            [handle_file(str(path)) for path in stems], *menus, 1.0, *zero_trims, perspective, api_name="/mix")
        assert f"{perspective}'s perspective" in report
        outputs[perspective] = (soundfile.read(download_path, dtype="float32")[0].T, rest[-3])
    tracks, rate, _ = read_tracks(dict(zip(model.slot_names, stems, strict=True)))
    expected = mix_tracks(model, tracks, rate, perspective="drummer").audio
    np.testing.assert_allclose(outputs["drummer"][0], expected, atol=1e-6)
    pans = {perspective: {row[0]: dict(zip(table["headers"], row, strict=True))["static pan (L -1 .. R +1)"]
                          for row in table["data"]} for perspective, (_, table) in outputs.items()}
    for slot in ("kick", "snare", "hihat", "tom_1"):
        assert pans["drummer"][slot] == pytest.approx(-pans["audience"][slot], abs=0.011), slot
    assert pans["drummer"]["overhead_L"] == pytest.approx(-pans["audience"]["overhead_R"], abs=0.011)


def test_unmatched_file_is_noted_and_can_be_assigned_by_hand(client, tmp_path):
    rate = 22050
    tone = 0.3 * np.sin(2 * np.pi * 110 * np.arange(rate) / rate).astype(np.float32)
    paths = [tmp_path / "BD in.wav", tmp_path / "guitar.wav"]
    for path in paths:
        soundfile.write(path, tone, rate)
    menus, note = assign(client, paths)
    assert menus[0] == "BD in.wav" and menus[1:] == [EMPTY] * 8
    assert "no slot matches the name" in note and "guitar.wav" in note

    menus[3] = "guitar.wav"  # tom_1, by hand
    _, download_path, _, report, *_ = client.predict([handle_file(str(path)) for path in paths], *menus,
                                                     api_name="/mix")
    check_mix_file(download_path, rate, rate)  # at the inputs' rate, as long as the tracks
    assert "tom_1 ← guitar.wav" in report


def test_bad_uploads_return_the_error_message(client, app_url, tmp_path):
    unreadable = tmp_path / "kick.wav"
    unreadable.write_text("not audio")
    menus, note = assign(client, [unreadable])
    assert "kick.wav: cannot be read as audio" in note
    with pytest.raises(Exception, match="kick.wav: cannot be read as audio"):
        client.predict([handle_file(str(unreadable))], *menus, api_name="/mix")

    nothing_matches = tmp_path / "guitar.flac"
    soundfile.write(nothing_matches, np.zeros(4410, np.float32), 44100)
    menus, _ = assign(client, [nothing_matches])
    with pytest.raises(Exception, match="no file is assigned to a slot .uploaded: guitar.flac"):
        client.predict([handle_file(str(nothing_matches))], *menus, api_name="/mix")

    too_long = tmp_path / "snare.flac"
    soundfile.write(too_long, np.zeros(61 * 8000, np.int16), 8000)  # silence compresses to almost nothing
    menus, _ = assign(client, [too_long])
    with pytest.raises(Exception, match=r"snare.flac: 61.0 s long; tracks of at most 60 s \(1 min\) are accepted"):
        client.predict([handle_file(str(too_long))], *menus, api_name="/mix")

    too_large = tmp_path / "hihat.wav"
    noise = np.random.default_rng(0).integers(-2000, 2000, 2_100_000).astype(np.int16)
    soundfile.write(too_large, noise, 44100)  # 4.2 MB
    with pytest.raises(Exception, match="hihat.wav exceeds the maximum file size of 4000000 bytes"):
        assign(client, [too_large])  # the client checks the size the server announces ...
    with too_large.open("rb") as upload:  # ... and the server refuses it too
        response = httpx.post(f"{app_url}gradio_api/upload", files={"files": upload}, timeout=60)
    assert response.status_code == 413 and "maximum allowed size" in response.text


# ---- a real browser --------------------------------------------------------------------------------


def wait_for_server(url: str, process: subprocess.Popen, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"app.py exited with status {process.returncode}:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1.0)
    raise AssertionError(f"app.py did not answer at {url} within {seconds:.0f} s")


def check_layout(page) -> None:
    """What a person checks is on screen: whole file names in the slot menus, clear of the arrow; every
    column of the levels table inside its box; spectrograms framed by axes (wider than the plot area)."""
    menus = page.locator(".slot-menu").evaluate_all("""menus => menus.map(menu => {
        const input = menu.querySelector('input'), arrow = menu.querySelector('.dropdown-arrow');
        const text_right = input.getBoundingClientRect().right - parseFloat(getComputedStyle(input).paddingRight);
        return {value: input.value, clear_of_arrow: text_right <= arrow.getBoundingClientRect().left + 1,
                whole: input.scrollWidth <= input.clientWidth};
    })""")
    assert len(menus) == 9 and all(menu["clear_of_arrow"] and menu["whole"] for menu in menus), menus
    headers = page.locator("#levels-table").evaluate("""table => {
        const box = table.getBoundingClientRect();
        return [...table.querySelectorAll('thead th')].map(cell => {
            const rect = cell.getBoundingClientRect();
            return {text: cell.innerText.trim(), inside: rect.left >= box.left - 1 && rect.right <= box.right + 1};
        });
    }""")
    assert len(headers) >= 5 and all(header["inside"] for header in headers), headers
    from mixwave_hf.demo import SPECTROGRAM_SIZE

    for image in ("#spectrogram-mix img", "#spectrogram-sum img"):
        assert page.locator(image).evaluate("image => image.naturalWidth") > SPECTROGRAM_SIZE[0]


def remix_with_the_sliders(page, expect) -> None:
    """Move the intensity slider to 0.5 and the snare's trim to +3 dB as a person would (keyboard on the
    range input), press Mix again without re-uploading, and see the new settings in the report and the
    static-balance table; prints how long the re-mix took."""
    page.locator("#intensity input[type=range]").focus()
    for _ in range(10):  # 1.0 -> 0.5 in steps of 0.05
        page.keyboard.press("ArrowLeft")
    page.locator("#trim-snare input[type=range]").focus()
    for _ in range(6):  # 0 -> +3 dB in steps of 0.5
        page.keyboard.press("ArrowRight")
    expect(page.locator("#intensity input[type=number]")).to_have_value("0.5")
    started = time.monotonic()
    page.locator("#mix-button").click()
    expect(page.locator("#mix-report")).to_contain_text("Intensity 0.5; trims: snare +3.0 dB", timeout=120_000)
    print(f"re-mix in the browser: {time.monotonic() - started:.2f} s")
    table = page.locator("#balance-table")
    for text in ("static gain (dB)", "static pan", "overhead_R"):
        expect(table).to_contain_text(text)


def test_browser_uploads_the_example_and_downloads_the_mix(tiny_model_dir, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                         "(pip install playwright; the test uses Debian's chromium)")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    environment = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                   "GRADIO_TEMP_DIR": str(tmp_path / "gradio-temp"), "GRADIO_ANALYTICS_ENABLED": "False",
                   "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "app.py", "--model", str(tiny_model_dir)], cwd=REPO_ROOT,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outside_requests: list[str] = []
    try:
        wait_for_server(url, process)
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1600})

                def local_only(route):
                    if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
                        route.continue_()
                    else:
                        outside_requests.append(route.request.url)
                        route.abort()

                page.route("**/*", local_only)
                page.goto(url, timeout=120_000)
                playwright_api.expect(page.locator("#mix-button")).to_be_visible(timeout=120_000)
                SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT_DIR / "demo-on-load.png"), full_page=True)
                # Before a mix: no empty players, download box or placeholder table.
                for hidden in ("#results", "#mix-download", "#levels-table"):
                    playwright_api.expect(page.locator(hidden)).to_be_hidden()
                page.locator("#stems input[type=file]").set_input_files([str(path) for path in example_stems()])
                playwright_api.expect(page.locator("#assignment-note")).to_contain_text(
                    "8 of 8 files assigned", timeout=120_000)
                page.locator("#mix-button").click()
                link = page.locator("#mix-download a[download]").first
                link.wait_for(timeout=300_000)
                response = page.request.get(link.get_attribute("href"))
                assert response.ok, response.status
                info = soundfile.info(str(example_stems()[0]))
                downloaded = tmp_path / "downloaded_mix.wav"
                downloaded.write_bytes(response.body())
                check_mix_file(downloaded, info.samplerate, info.frames)
                assert soundfile.info(io.BytesIO(response.body())).channels == 2
                # The player (in a shadow root, which playwright's CSS locators pierce) shows the mix's length.
                playwright_api.expect(page.locator("#mix-player")).to_contain_text("0:04", timeout=60_000)
                check_layout(page)
                page.screenshot(path=str(SCREENSHOT_DIR / "demo-mixed.png"), full_page=True)
                remix_with_the_sliders(page, playwright_api.expect)
                page.screenshot(path=str(SCREENSHOT_DIR / "demo-remixed.png"), full_page=True)
                print(f"screenshots: {SCREENSHOT_DIR}")
            finally:
                browser.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    print(f"requests to other hosts, aborted: {outside_requests or 'none'}")


def fake_wheel(path: Path) -> Path:
    """A minimal mixwave_hf wheel: the package's __init__.py and METADATA with core, `demo` and `data` requirements."""
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("mixwave_hf/__init__.py", "")
        wheel.writestr("mixwave_hf/pretrained/config.json", "{}")
        wheel.writestr("mixwave_hf-0.1.0.dist-info/METADATA", "\n".join([
            "Metadata-Version: 2.4", "Name: mixwave-hf", "Version: 0.1.0", "Requires-Dist: torch>=2.3",
            "Requires-Dist: soundfile>=0.12", 'Requires-Dist: gradio<7,>=6.31; extra == "demo"',
            'Requires-Dist: pedalboard>=0.9; extra == "data"', 'Requires-Dist: mixwave-hf[data]; extra == "dev"']))
    return path


def load_assemble():
    sys.path.insert(0, str(REPO_ROOT / "space"))
    try:
        import assemble
    finally:
        sys.path.remove(str(REPO_ROOT / "space"))
    return assemble


def test_make_space_assembles_a_space_folder(tmp_path):
    import gradio
    import yaml

    assemble = load_assemble()
    wheel = fake_wheel(tmp_path / "mixwave_hf-0.1.0-py3-none-any.whl")
    out_dir = tmp_path / "space"
    assemble.assemble_space(out_dir, wheel, "someone/mixwave-drums")

    assert {path.name for path in out_dir.iterdir()} == {"README.md", "app.py", "requirements.txt", "mixwave_hf"}
    assert (out_dir / "mixwave_hf" / "pretrained" / "config.json").is_file()
    front_matter = yaml.safe_load((out_dir / "README.md").read_text().split("---")[1])
    assert front_matter["sdk"] == "gradio" and front_matter["sdk_version"] == gradio.__version__
    assert front_matter["app_file"] == "app.py" and front_matter["python_version"] == "3.11"
    assert front_matter["models"] == ["someone/mixwave-drums"]
    assert front_matter["license"] == "cc-by-sa-3.0"  # the weights and the example audio; the code is Apache-2.0
    assert "code\n(`app.py` and `mixwave_hf/*.py`) is Apache-2.0" in (out_dir / "README.md").read_text()
    # The Space's build installs requirements.txt alone: no local paths, the wheel's own dependencies instead.
    requirements = (out_dir / "requirements.txt").read_text().splitlines()
    assert requirements == ["--extra-index-url https://download.pytorch.org/whl/cpu", "torch==2.13.0+cpu",
                            f"gradio=={gradio.__version__}", "soundfile>=0.12"]


def test_the_space_model_id_is_a_clear_setting(tmp_path, capsys):
    import yaml

    assemble = load_assemble()
    wheel = fake_wheel(tmp_path / "mixwave_hf-0.1.0-py3-none-any.whl")
    for placeholder in ["mixwave-hf/mix-wave-u-net-drums", "org/name", "no-slash"]:
        with pytest.raises(SystemExit, match=f"--model-id '?{placeholder}'?: "):
            assemble.assemble_space(tmp_path / placeholder.replace("/", "_"), wheel, placeholder)
    assert assemble.main([str(tmp_path / "unlinked"), "--wheel", str(wheel)]) == 0
    assert "links no model repo" in capsys.readouterr().out
    readme = (tmp_path / "unlinked" / "README.md").read_text()
    assert "models" not in yaml.safe_load(readme.split("---")[1])
    assert "the model in `mixwave_hf/pretrained/`" in readme
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "SPACE_MODEL ?=\n" in makefile and "$(if $(SPACE_MODEL),--model-id $(SPACE_MODEL))" in makefile


@pytest.mark.parametrize("left,right", [("Overheads L", "Overheads R"), ("Overhead 1", "Overhead 2")])
def test_a_real_session_is_assigned_as_the_cli_assigns_it(client, tmp_path, left, right):
    from mixwave_hf.cli.stems import find_stems
    from mixwave_hf.slots import DEFAULT_SLOTS, accepted_names

    rate = 22050
    tone = 0.3 * np.sin(2 * np.pi * 110 * np.arange(rate // 4) / rate).astype(np.float32)
    names = ["Kick In", "Kick Out", "Snare Top", "Snare Bottom", "Hi Hat", "Tom 1", "Tom 2", "Floor Tom", left,
             right, "Room L", "Room R"]
    paths = sorted(tmp_path / f"{name}.wav" for name in names)  # "Snare Bottom" before "Snare Top"
    for path in paths:
        soundfile.write(path, tone, rate)
    menus, note = assign(client, paths)
    assert menus == ["Kick In.wav", "Snare Top.wav", "Hi Hat.wav", "Tom 1.wav", "Tom 2.wav", "Floor Tom.wav",
                     f"{left}.wav", f"{right}.wav", EMPTY]
    by_cli = find_stems([str(tmp_path)], [], DEFAULT_SLOTS)
    assert menus == [by_cli[slot].name if slot in by_cli else EMPTY for slot in accepted_names(DEFAULT_SLOTS)]
    assert "8 of 12 files assigned" in note
    assert "Kick Out.wav left out: kick takes Kick In.wav; 'out' marks a secondary mic" in note
    assert "Snare Bottom.wav left out: snare takes Snare Top.wav; 'bottom' marks a secondary mic" in note
    assert "Room L.wav, Room R.wav left out: room mics are not model inputs" in note
    assert ("1 = left, 2 = right" in note) == left.endswith("1")
    assert "no slot matches" not in note


def test_only_empty_files_give_a_clear_message(client, tmp_path):
    paths = [tmp_path / "kick.wav", tmp_path / "snare.wav"]
    for path in paths:
        soundfile.write(path, np.zeros(0, np.float32), 44100)
    menus, note = assign(client, paths)
    assert "Empty (0 samples):** kick.wav, snare.wav" in note
    with pytest.raises(Exception, match=r"nothing to mix: every chosen file is empty \(0 samples\): kick.wav, "
                       "snare.wav") as raised:
        client.predict([handle_file(str(path)) for path in paths], *menus, api_name="/mix")
    assert "zero-size array" not in str(raised.value)


def test_notes_name_the_uploaded_file_not_the_server_path(client, tmp_path):
    unreadable = tmp_path / "kick.wav"
    unreadable.write_text("not audio")
    _, note = assign(client, [unreadable])
    assert "Error opening 'kick.wav'" in note and f"{os.sep}kick.wav" not in note

    # A truncated WAV (its header promises 1 s, 0.5 s is there) beside an empty track: both noted by name.
    rate = 22050
    snare, hihat = tmp_path / "snare.wav", tmp_path / "hihat.wav"
    soundfile.write(snare, 0.3 * np.sin(np.arange(rate) / 10).astype(np.float32), rate, subtype="PCM_16")
    snare.write_bytes(snare.read_bytes()[: 44 + rate])
    soundfile.write(hihat, np.zeros(0, np.float32), rate)
    menus, _ = assign(client, [snare, hihat])
    _, _, _, report, *_ = client.predict([handle_file(str(snare)), handle_file(str(hihat))], *menus,
                                         api_name="/mix")
    assert "Note: snare.wav: file ends early: 0.50 s of 1.00 s read" in report
    assert report.count("empty (0 samples)") == 1 and "Note: hihat.wav: empty (0 samples)" in report
    assert os.sep not in report.replace("A/B", "")


def test_sizes_read_the_same_on_the_page_and_in_the_browser_message():
    from mixwave_hf.demo import MAX_FILE_MIB

    limits = Limits()
    assert f"each at most {MAX_FILE_MIB} MiB" in limits.describe()
    # The browser's "too large" message divides by 1024² and prints one decimal ("200.0 Mb").
    assert f"{limits.max_file_bytes / 1024**2:.1f}" == f"{MAX_FILE_MIB:.1f}"
    assert launch_options(limits)["max_file_size"] == limits.max_file_bytes


def test_spectrograms_have_axes():
    from mixwave_hf.demo import SPECTROGRAM_MARGINS, SPECTROGRAM_SIZE, spectrogram_pair

    rate = 22050
    noise = np.random.default_rng(0).normal(0, 0.1, (2, 2 * rate)).astype(np.float32)
    mix_image, sum_image = spectrogram_pair(noise, noise, rate)
    width, height = SPECTROGRAM_SIZE
    margins = SPECTROGRAM_MARGINS
    assert mix_image.shape == sum_image.shape == (margins["top"] + height + margins["bottom"],
                                                  margins["left"] + width + margins["right"], 3)
    left_margin = mix_image[margins["top"]:margins["top"] + height, : margins["left"] - 2]
    below = mix_image[margins["top"] + height + 2:, margins["left"]: margins["left"] + width]
    assert (left_margin < 128).any() and (below < 128).any(), "no tick labels drawn beside or below the plot"


def test_make_test_installs_the_browser_it_needs():
    """`make test` (the README's test command) installs Debian's chromium, as it does the soundfonts."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    dry_run = subprocess.run(["make", "-n", "test"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert f"[ ! -x {CHROMIUM} ]" in dry_run.stdout and "apt-get install -y -qq chromium" in dry_run.stdout
    assert dry_run.stdout.index("chromium") < dry_run.stdout.index("pytest")


def test_the_demo_ends_with_the_reason_when_its_model_does_not_load(tmp_path):
    """The same message as `mixwave mix --model` (one `model.load_model`), as the app's exit reason."""
    from mixwave_hf.demo import load_demo_model

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit, match=f"mixwave demo: {tmp_path}: the folder holds no model.safetensors; "
                                         "expected a folder written by save_pretrained"):
        load_demo_model(str(tmp_path))
    assert isinstance(load_demo_model(None), MixWaveUNet)
