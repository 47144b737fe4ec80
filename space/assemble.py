"""Assemble a Hugging Face Space folder for the demo: app.py, requirements.txt, README.md, the package.

    python space/assemble.py OUT_DIR --wheel dist/mixwave_hf-X-py3-none-any.whl [--model-id org/name]

`make space` builds the wheel and runs this. The package reaches the Space unpacked from the wheel
(`OUT_DIR/mixwave_hf/`, the embedded default model and the example included), not as a wheel that
requirements.txt installs: a Space's build installs requirements.txt with only that one file at hand
(its Dockerfile mounts requirements.txt alone for `pip install -r`), so a `./mixwave_hf-*.whl` line
there fails, and pip resolves such a path from the working directory, not from the requirements file.
requirements.txt lists the wheel's own dependencies instead (from its METADATA, with the `demo`
extra) and torch's CPU build; `python app.py` then imports `mixwave_hf` from the folder beside it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

SPACE_TEMPLATE_DIR = Path(__file__).resolve().parent
REPO_ROOT = SPACE_TEMPLATE_DIR.parent
PACKAGE = "mixwave_hf"
#: Torch's CPU build: Spaces' free hardware has no GPU, and the default build pulls CUDA (gigabytes).
TORCH_REQUIREMENT = "torch==2.13.0+cpu"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
PYTHON_VERSION = "3.11"
#: The Space's licence (README front matter). It ships the default model's weights and the example audio,
#: which are CC-BY-SA-3.0 (rendered on the AVL Drumkits); the code is Apache-2.0, as the README says.
SPACE_LICENSE = "cc-by-sa-3.0"
#: The `models:` value `make space` once used by default; it names no published model.
PLACEHOLDER_MODEL_IDS = {"mixwave-hf/mix-wave-u-net-drums", "org/name"}
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def check_model_id(model_id: str | None) -> None:
    """SystemExit unless `model_id` is None (no `models:` link) or a Hub repo id that is not a placeholder."""
    if model_id is None:
        return
    if model_id in PLACEHOLDER_MODEL_IDS:
        raise SystemExit(f"--model-id {model_id}: a placeholder, not a published model; name the Hub repo the "
                         "default model was pushed to (`mixwave push mixwave_hf/pretrained ORG/NAME`), or leave "
                         "it out for a Space that links no model repo")
    if not REPO_ID.match(model_id):
        raise SystemExit(f"--model-id {model_id!r}: expected a Hub repo id such as org/name")


def wheel_requirements(wheel: zipfile.ZipFile, extra: str = "demo") -> list[str]:
    """The wheel's Requires-Dist entries that apply to an install with `extra` (markers evaluated here),
    without the package itself (a self-reference such as `mixwave-hf[data]`)."""
    (metadata_name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    requirements = []
    for line in wheel.read(metadata_name).decode().splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = Requirement(line.split(":", 1)[1].strip())
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        if requirement.name.replace("_", "-").lower() == PACKAGE.replace("_", "-"):
            continue
        requirement.marker = None
        requirements.append(str(requirement))
    return requirements


def requirements_text(requirements: list[str], gradio_version: str) -> str:
    """requirements.txt: torch's CPU build and the Gradio version of the front matter pinned, the rest as
    the wheel states them."""
    pinned = {"torch": TORCH_REQUIREMENT, "gradio": f"gradio=={gradio_version}"}
    lines = [f"--extra-index-url {TORCH_INDEX}", *pinned.values()]
    lines += [line for line in requirements if Requirement(line).name.lower() not in pinned]
    return "\n".join(lines) + "\n"


def assemble_space(out_dir: Path, wheel: Path, model_id: str | None = None) -> None:
    """Write the Space's files into `out_dir` (which must not exist or be empty): app.py, the package
    unpacked from `wheel`, requirements.txt and README.md (front matter `models: [model_id]` if given)."""
    if not wheel.is_file() or wheel.suffix != ".whl" or not zipfile.is_zipfile(wheel):
        raise SystemExit(f"--wheel {wheel}: not a wheel file; build one with `python -m build --wheel`")
    check_model_id(model_id)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SystemExit(f"{out_dir}: not empty; remove it or name another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO_ROOT / "app.py", out_dir / "app.py")
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith(f"{PACKAGE}/")]
        if not members:
            raise SystemExit(f"--wheel {wheel}: holds no {PACKAGE}/ package")
        archive.extractall(out_dir, members)
        requirements = wheel_requirements(archive)
    gradio_version = version("gradio")
    (out_dir / "requirements.txt").write_text(requirements_text(requirements, gradio_version))
    package_version = wheel.name.split("-")[1]
    model_lines = f"models:\n  - {model_id}\n" if model_id else ""
    model_text = (f"[{model_id}](https://huggingface.co/{model_id})" if model_id
                  else "the model in `mixwave_hf/pretrained/`")
    readme = (SPACE_TEMPLATE_DIR / "README.md").read_text()
    for key, value in {"gradio_version": gradio_version, "python_version": PYTHON_VERSION,
                       "models_front_matter": model_lines, "model": model_text, "license": SPACE_LICENSE,
                       "package_version": package_version}.items():
        readme = readme.replace("{" + key + "}", value)
    (out_dir / "README.md").write_text(readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Assemble the demo's Hugging Face Space folder.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--wheel", type=Path, required=True, help="the mixwave-hf wheel the Space runs")
    parser.add_argument("--model-id", default=None,
                        help="Hub repo id the default model was pushed to (README `models:`, linking the Space to "
                        "the model page); leave out when it is not published")
    args = parser.parse_args(argv)
    assemble_space(args.out_dir, args.wheel, args.model_id or None)
    if not args.model_id:
        print("note: no --model-id (SPACE_MODEL): the Space's card links no model repo; it runs the model "
              "embedded in the package either way")
    print(f"wrote {args.out_dir}; upload it with:\n  hf repos create SPACE_ID --type space --sdk gradio --exist-ok\n"
          f"  hf upload SPACE_ID {args.out_dir} . --repo-type space")
    return 0


if __name__ == "__main__":
    sys.exit(main())
