"""The Mix-Wave-U-Net web demo, and the Hugging Face Space's entry point (Gradio).

    python app.py [--model DIR_OR_HUB_REPO_ID] [--host HOST] [--port PORT]

The arguments are `mixwave demo`'s (one parser: `mixwave_hf.cli.parser.demo_parser`). The model: --model, else
the MIXWAVE_MODEL environment variable, else the default model embedded in the package. The server listens
where --host / --port, else GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say (default 127.0.0.1:7860). Importing
this module builds `demo` without launching it. In the Hugging Face Space (`make space`), `mixwave_hf` is the
package folder beside this file, found because Python puts the script's folder first on sys.path.
"""

from __future__ import annotations

import sys

from mixwave_hf.cli.parser import demo_parser
from mixwave_hf.demo import build_demo, launch_demo, load_demo_model

arguments = demo_parser("app.py", model_variable="MIXWAVE_MODEL").parse_args(sys.argv[1:] if __name__ == "__main__"
                                                                           else [])
demo = build_demo(load_demo_model(arguments.model), model_name=arguments.model or "the embedded default model")

if __name__ == "__main__":
    launch_demo(demo, server_name=arguments.host, server_port=arguments.port)
