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
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import httpx
import numpy as np
import pytest
import soundfile

pytest.importorskip("gradio", reason="the demo needs the `demo` extra (gradio)")
from gradio_client import Client, handle_file

from mixwave_hf.demo import EMPTY, Limits, build_demo, launch_options
from mixwave_hf.example import example_stems
from mixwave_hf.model import MixWaveUNet

REPO_ROOT = Path(__file__).resolve().parents[1]
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
                screenshot = tmp_path / "demo.png"
                page.screenshot(path=str(screenshot), full_page=True)
                print(f"screenshot: {screenshot}")
            finally:
                browser.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    print(f"requests to other hosts, aborted: {outside_requests or 'none'}")


def test_make_space_assembles_a_space_folder(tmp_path):
    import yaml

    sys.path.insert(0, str(REPO_ROOT / "space"))
    try:
        from assemble import assemble_space
    finally:
        sys.path.remove(str(REPO_ROOT / "space"))
    wheel = tmp_path / "mixwave_hf-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    out_dir = tmp_path / "space"
    assemble_space(out_dir, wheel, "org/mixwave-drums")

    assert {path.name for path in out_dir.iterdir()} == {"README.md", "app.py", "requirements.txt", wheel.name}
    front_matter = yaml.safe_load((out_dir / "README.md").read_text().split("---")[1])
    import gradio

    assert front_matter["sdk"] == "gradio" and front_matter["sdk_version"] == gradio.__version__
    assert front_matter["app_file"] == "app.py" and front_matter["python_version"] == "3.11"
    assert front_matter["models"] == ["org/mixwave-drums"]
    requirements = (out_dir / "requirements.txt").read_text().splitlines()
    assert f"./{wheel.name}[demo]" in requirements and "torch==2.13.0+cpu" in requirements


@pytest.mark.parametrize("left,right", [("Overheads L", "Overheads R"), ("Overhead 1", "Overhead 2")])
def test_a_real_session_is_assigned_as_the_cli_assigns_it(client, tmp_path, left, right):
    from mixwave_hf.cli import find_stems
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
