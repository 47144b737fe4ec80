"""The web demo (Gradio): upload drum stems, check which slot each file feeds, get the model's mix.

`build_demo(model)` makes the `gr.Blocks`; `launch_demo(demo)` serves it with the upload limits
(`Limits`). Entry points: `mixwave demo` and `app.py` (the Space). What it shows: docs/demo.md.
Modules: `uploads` (limits, checks, slots), `results` (the mix and its tables), `plots`, `app` (the page).

    launch_demo(build_demo(load_demo_model(None)), server_name="127.0.0.1", server_port=7860)
"""

from mixwave_hf.demo.app import (
    CACHE_SECONDS,
    CSS,
    QUEUE_SIZE,
    SLOT_MENUS_PER_ROW,
    TRIM_SLIDERS_PER_ROW,
    TRIM_STEP_DB,
    build_demo,
    launch_demo,
    launch_options,
    load_demo_model,
    request_folder,
    theme,
)
from mixwave_hf.demo.plots import (
    SPECTROGRAM_MARGINS,
    SPECTROGRAM_SIZE,
    WAVEFORM_BINS,
    colour_map,
    spectrogram_image,
    spectrogram_pair,
    waveform_points,
    with_axes,
)
from mixwave_hf.demo.results import LEVELS_EXCERPT_SECONDS, DemoMix, mix_uploads, static_balance, track_levels
from mixwave_hf.demo.uploads import (
    EMPTY,
    MAX_FILE_MIB,
    MAX_FILES,
    MAX_SECONDS,
    MIB,
    DemoError,
    Limits,
    check_upload,
    chosen_files,
    upload_names,
    upload_note,
)

__all__ = [
    "CACHE_SECONDS", "CSS", "EMPTY", "LEVELS_EXCERPT_SECONDS", "MAX_FILES", "MAX_FILE_MIB", "MAX_SECONDS", "MIB",
    "QUEUE_SIZE", "SLOT_MENUS_PER_ROW", "SPECTROGRAM_MARGINS", "SPECTROGRAM_SIZE", "TRIM_SLIDERS_PER_ROW",
    "TRIM_STEP_DB", "WAVEFORM_BINS", "DemoError", "DemoMix", "Limits", "build_demo", "check_upload", "chosen_files",
    "colour_map", "launch_demo", "launch_options", "load_demo_model", "mix_uploads", "request_folder",
    "spectrogram_image", "spectrogram_pair", "static_balance", "theme", "track_levels", "upload_names", "upload_note",
    "waveform_points", "with_axes",
]
