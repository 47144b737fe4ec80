"""The Mix-Wave-U-Net web demo, and the Hugging Face Space's entry point (Gradio).

    python app.py [--model DIR_OR_HUB_REPO_ID]

The model: --model, else the MIXWAVE_MODEL environment variable, else the default model embedded in
the package. The server listens where GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say (default
127.0.0.1:7860). Importing this module builds `demo` without launching it. In the Hugging Face Space
(`make space`), `mixwave_hf` is the package folder beside this file, found because Python puts the
script's folder first on sys.path.
"""

from __future__ import annotations

import argparse
import os
import sys

from mixwave_hf.demo import build_demo, launch_demo, load_demo_model


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the Mix-Wave-U-Net drum mixing demo.")
    parser.add_argument("--model", default=os.environ.get("MIXWAVE_MODEL") or None,
                        help="model directory or Hugging Face Hub repo id (default: $MIXWAVE_MODEL, else the "
                        "embedded default model)")
    return parser.parse_args(argv)


arguments = parse_arguments(sys.argv[1:] if __name__ == "__main__" else [])
demo = build_demo(load_demo_model(arguments.model), model_name=arguments.model or "the embedded default model")

if __name__ == "__main__":
    launch_demo(demo)
