"""Shared test setup: an isolated Hugging Face environment, and a local Hub server on demand.

The environment is set when pytest imports this module, before any test module imports
huggingface_hub, because huggingface_hub reads it once, at import (`huggingface_hub.constants`).
Every test thus talks to `HF_ENDPOINT`, a local port, never to the real Hub, and caches under a
fresh temporary HF_HOME, never the user's cache.
"""

import atexit
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Bound now so that HF_ENDPOINT can name the port; the server starts (and listens) on it only when a
# test asks for `hub_server`, and until then connections are refused, as with no network.
_HUB_SOCKET = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
_HUB_SOCKET.bind(("127.0.0.1", 0))
atexit.register(_HUB_SOCKET.close)
_HF_HOME = tempfile.mkdtemp(prefix="mixwave-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)

# Variables that would point huggingface_hub (or datasets) at other caches, the real Hub, or offline mode.
for _name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ASSETS_CACHE", "HF_XET_CACHE", "HF_TOKEN_PATH",
              "HF_DATASETS_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE",
              "HUGGINGFACE_CO_STAGING"):
    os.environ.pop(_name, None)
os.environ.update({
    "HF_ENDPOINT": f"http://127.0.0.1:{_HUB_SOCKET.getsockname()[1]}",
    "HF_HOME": _HF_HOME,
    "HF_TOKEN": "hf_dummy_token_for_the_local_test_hub",
    "HF_HUB_DISABLE_XET": "1",  # the test server speaks plain HTTP + Git LFS, not Xet
    "HF_HUB_DISABLE_TELEMETRY": "1",  # also stops the user-agent code fetching /api/agent-harnesses
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
})


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A seeded, untrained MixWaveUNet(levels=4, base_channels=4) saved with save_pretrained: fast to mix with."""
    import torch

    from mixwave_hf.model import MixWaveUNet

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("tiny-model")
    MixWaveUNet(levels=4, base_channels=4).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def hub_server() -> Iterator[str]:
    """The endpoint URL (the same as HF_ENDPOINT) of a local Hub server, shared by the whole session.

    Started on first use. It holds model and dataset repos in memory, so tests should use repo ids
    of their own. `huggingface_hub` calls need no extra arguments: HF_ENDPOINT and HF_TOKEN are set.
    """
    from hub_server import serve_hub  # imported here: only sessions that use the server pay for it

    with serve_hub(_HUB_SOCKET) as endpoint:
        yield endpoint
