"""The wheel carries the package data the code relies on."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mixwave_hf.resources import EXAMPLE_FILE_NAMES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The package's wheel, built from a copy: setuptools leaves build/ and egg-info folders in the tree it builds."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                "__pycache__", ".pytest_cache", ".ruff_cache"))
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("mixwave_hf-*.whl")
    return wheel


def test_wheel_contains_the_example_stems_and_the_console_script(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for file_name in [*EXAMPLE_FILE_NAMES.values(), "ATTRIBUTION.txt"]:
        assert f"mixwave_hf/examples/drums/{file_name}" in names
    for module in ["model", "mixing", "streaming", "slots", "audio", "cli/__init__", "resources", "metrics",
                   "baselines", "evaluate", "card", "data/schema", "data/loader", "data/builders", "data/synth/song"]:
        assert f"mixwave_hf/{module}.py" in names
    assert "mixwave_hf/templates/model_card.md" in names
    assert not [name for name in names if name.startswith("tests/") or name.endswith("/drums.py")]  # no test code
    for file_name in ["config.json", "model.safetensors", "README.md", "evaluation.json", "training.json"]:
        assert f"mixwave_hf/pretrained/{file_name}" in names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "mixwave = mixwave_hf.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_space_runs_the_package_unpacked_beside_app_py(wheel, tmp_path):
    """The Space folder `make space` writes imports mixwave_hf from beside app.py (as `python app.py` does,
    whatever the working directory), embedded model included; requirements.txt names no local file."""
    pytest.importorskip("gradio", reason="the Space's app needs the `demo` extra (gradio)")
    sys.path.insert(0, str(ROOT / "space"))
    try:
        from assemble import assemble_space
    finally:
        sys.path.remove(str(ROOT / "space"))
    space = tmp_path / "space"
    assemble_space(space, wheel)
    requirements = (space / "requirements.txt").read_text()
    assert ".whl" not in requirements and "./" not in requirements
    assert "soundfile>=0.12" in requirements and "torch==2.13.0+cpu" in requirements
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import app, mixwave_hf; "
              "print(mixwave_hf.__file__); print(app.demo.title)")
    result = subprocess.run([sys.executable, "-c", script, str(space)], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"},
                            timeout=300)
    assert result.returncode == 0, result.stderr
    package_file, title = result.stdout.split("\n")[-3:-1]
    assert Path(package_file) == space / "mixwave_hf" / "__init__.py" and title == "Mix-Wave-U-Net drum mixing"
