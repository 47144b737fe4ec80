"""Assemble a Hugging Face Space folder for the demo: app.py, requirements.txt, README.md, the wheel.

    python space/assemble.py OUT_DIR --wheel dist/mixwave_hf-X-py3-none-any.whl --model-id org/name

`make space` builds the wheel and runs this. The Space installs this package from the wheel copied
into OUT_DIR (with the embedded default model in it), and torch's CPU build.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

SPACE_TEMPLATE_DIR = Path(__file__).resolve().parent
REPO_ROOT = SPACE_TEMPLATE_DIR.parent
#: Torch's CPU build: Spaces' free hardware has no GPU, and the default build pulls CUDA (gigabytes).
TORCH_REQUIREMENT = "torch==2.13.0+cpu"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
PYTHON_VERSION = "3.11"


def assemble_space(out_dir: Path, wheel: Path, model_id: str) -> None:
    """Write the Space's files into `out_dir` (which must not exist or be empty)."""
    if not wheel.is_file() or wheel.suffix != ".whl":
        raise SystemExit(f"--wheel {wheel}: not a wheel file; build one with `python -m build --wheel`")
    if "/" not in model_id:
        raise SystemExit(f"--model-id {model_id!r}: expected a Hub repo id such as org/name")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SystemExit(f"{out_dir}: not empty; remove it or name another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO_ROOT / "app.py", out_dir / "app.py")
    shutil.copy2(wheel, out_dir / wheel.name)
    gradio_version = version("gradio")
    (out_dir / "requirements.txt").write_text(
        f"--extra-index-url {TORCH_INDEX}\n{TORCH_REQUIREMENT}\ngradio=={gradio_version}\n./{wheel.name}[demo]\n"
    )
    package_version = wheel.name.split("-")[1]
    readme = (SPACE_TEMPLATE_DIR / "README.md").read_text()
    for key, value in {"gradio_version": gradio_version, "python_version": PYTHON_VERSION,
                       "model_id": model_id, "package_version": package_version}.items():
        readme = readme.replace("{" + key + "}", value)
    (out_dir / "README.md").write_text(readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Assemble the demo's Hugging Face Space folder.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--wheel", type=Path, required=True, help="the mixwave-hf wheel the Space installs")
    parser.add_argument("--model-id", required=True, help="Hub repo id of the default model (README `models`)")
    args = parser.parse_args(argv)
    assemble_space(args.out_dir, args.wheel, args.model_id)
    print(f"wrote {args.out_dir}; upload it with:\n  hf repos create SPACE_ID --type space --sdk gradio --exist-ok\n"
          f"  hf upload SPACE_ID {args.out_dir} . --repo-type space")
    return 0


if __name__ == "__main__":
    sys.exit(main())
