"""The demo's page (Gradio): the upload box, slot menus, controls and results, wired to `/assign` and `/mix`.

`build_demo(model)` makes the `gr.Blocks`; `launch_demo(demo)` serves it with the upload limits.

    launch_demo(build_demo(load_demo_model(None)), server_name="127.0.0.1", server_port=7860)
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from mixwave_hf.audio import AUDIO_EXTENSIONS
from mixwave_hf.demo.plots import spectrogram_pair, waveform_points
from mixwave_hf.demo.results import LEVELS_EXCERPT_SECONDS, mix_uploads
from mixwave_hf.demo.uploads import EMPTY, DemoError, Limits, upload_names, upload_note
from mixwave_hf.mixing import MAX_TRIM_DB
from mixwave_hf.model import MixWaveUNet, ModelLoadError, load_model
from mixwave_hf.resources import example_stems
from mixwave_hf.slots import OVERHEAD_PAIR, OVERHEAD_PAIR_SLOTS, PERSPECTIVES, accepted_names

#: The upload limits a page gets unless given others.
DEFAULT_LIMITS = Limits()
#: Requests waiting in the queue before new ones are turned away; one mix runs at a time.
QUEUE_SIZE = 8
#: Temporary files (uploads, mixes, plots) are deleted this many seconds after they were made.
CACHE_SECONDS = 3600
#: How many slot menus share a row.
SLOT_MENUS_PER_ROW = 3
#: Trim sliders per row, and their step (dB).
TRIM_SLIDERS_PER_ROW = 4
TRIM_STEP_DB = 0.5
#: The page's own styles: a file name in a slot menu ends in "…" before the menu's arrow, not under it.
CSS = """
.slot-menu input { padding-right: 28px !important; text-overflow: ellipsis; }
"""


def load_demo_model(name: str | None) -> MixWaveUNet:
    """The model the demo mixes with: a directory or Hub repo id, or None for the embedded default;
    SystemExit with the reason if it does not load."""
    try:
        return load_model(name)
    except ModelLoadError as error:
        raise SystemExit(f"mixwave demo: {error}") from error


def request_folder() -> Path:
    """A fresh folder for one request's files, inside Gradio's cache so that `delete_cache` removes them."""
    root = Path(get_upload_folder())
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="mixwave-", dir=root))


def theme() -> gr.themes.Base:
    """Gradio's default look with the system's fonts: the page loads nothing from other sites."""
    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "Consolas", "monospace"])


def assign_handler(model: MixWaveUNet, limits: Limits):
    """The `/assign` function: uploaded file paths -> one updated menu per slot, then the note."""
    slots = accepted_names(model.slot_names)

    def assign(files: list[str] | None):
        names = upload_names(files)
        assigned, note = upload_note(names, model.slot_names, limits)
        choices = [EMPTY, *names]
        return [gr.Dropdown(choices=choices, value=assigned.get(slot, EMPTY)) for slot in slots] + [note]

    return assign


def mix_handler(model: MixWaveUNet, limits: Limits):
    """The `/mix` function: files, one choice per slot menu, the intensity, one trim per model slot and
    the perspective -> the values of `results_column`'s outputs."""
    slots = accepted_names(model.slot_names)

    def mix(files: list[str] | None, *settings, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        choices, (intensity, *trims, perspective) = settings[: len(slots)], settings[len(slots) :]
        names = upload_names(files)
        try:
            result = mix_uploads(model, names, dict(zip(slots, choices, strict=True)), limits, request_folder(),
                                 progress=True, trims=dict(zip(model.slot_names, trims, strict=True)),
                                 intensity=intensity, perspective=perspective)
        except DemoError as error:
            raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from error
        peak = max(1.0, float(np.abs(result.plain_sum).max()))
        mix_image, sum_image = spectrogram_pair(result.mix, result.plain_sum, result.sample_rate)
        waveform_options = {"y_lim": [-peak, peak]}
        return (
            str(result.mix_path),
            str(result.mix_path),
            str(result.plain_sum_path),
            result.report,
            gr.LinePlot(waveform_points(result.mix, result.sample_rate), **waveform_options),
            gr.LinePlot(waveform_points(result.plain_sum, result.sample_rate), **waveform_options),
            mix_image,
            sum_image,
            result.balance,
            gr.BarPlot(result.levels, sort=list(result.levels["track"])),
            result.levels,
        )

    return mix


def upload_section(model: MixWaveUNet, limits: Limits, model_name: str) -> tuple[gr.File, gr.Markdown]:
    """The introduction, the upload box, the example and the assignment note: (upload box, note)."""
    gr.Markdown(
        "# Mix-Wave-U-Net: automatic drum mixing\n"
        "Upload separately recorded drum tracks (kick, snare, hi-hat, toms, overheads: WAV, FLAC, AIFF, OGG "
        f"or MP3; {limits.describe()}). Files are assigned to the model's inputs by name; check the slots, "
        "then press **Mix**. The model writes the stereo mix an engineer would make; the plain sum of the "
        f"tracks plays beside it for comparison. Model: {html.escape(model_name)}."
    )
    files = gr.File(label="Drum tracks", file_count="multiple", file_types=list(AUDIO_EXTENSIONS),
                    type="filepath", elem_id="stems")
    gr.Examples(examples=[[[str(path) for path in example_stems()]]], inputs=[files],
                label="Example: a 4 s groove rendered on a sampled kit (8 tracks)", cache_examples=False)
    note = gr.Markdown(upload_note({}, model.slot_names, limits)[1], elem_id="assignment-note")
    return files, note


def slot_menus(slots: list[str]) -> list[gr.Dropdown]:
    """One menu per accepted slot name (`EMPTY` until files are uploaded), in an open accordion."""
    menus = []
    with gr.Accordion("Slots: which file feeds which input", open=True):
        # A few menus per row, wide enough for a studio file name ("Overheads L.wav") beside the arrow.
        for first in range(0, len(slots), SLOT_MENUS_PER_ROW):
            with gr.Row():
                for slot in slots[first : first + SLOT_MENUS_PER_ROW]:
                    pair = f"{slot} (stereo pair: {' + '.join(OVERHEAD_PAIR_SLOTS)})"
                    label = pair if slot == OVERHEAD_PAIR else slot
                    menus.append(gr.Dropdown(choices=[EMPTY], value=EMPTY, label=label, min_width=240,
                                             elem_id=f"slot-{slot}", elem_classes="slot-menu"))
    return menus


def controls(slot_names: tuple[str, ...]) -> tuple[gr.Slider, list[gr.Slider], gr.Radio]:
    """The intensity slider, one trim slider (dB) per model slot and the perspective: (intensity, trims,
    perspective)."""
    with gr.Accordion("Controls: intensity, a trim per track, perspective (press Mix again to re-mix)",
                      open=True):
        intensity = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Processing intensity: 0 = the model's "
                              "static balance only, 1 = its full mix (EQ, compression, ambience)",
                              elem_id="intensity")
        trim_sliders = []
        for first in range(0, len(slot_names), TRIM_SLIDERS_PER_ROW):
            with gr.Row():
                for slot in slot_names[first : first + TRIM_SLIDERS_PER_ROW]:
                    trim_sliders.append(gr.Slider(-MAX_TRIM_DB, MAX_TRIM_DB, value=0.0, step=TRIM_STEP_DB,
                                                  label=f"{slot} trim (dB)", min_width=200,
                                                  elem_id=f"trim-{slot}"))
        perspective = gr.Radio(list(PERSPECTIVES), value="audience", elem_id="perspective",
                               label="Perspective: audience (a listener in front of the kit: hi-hat right) or "
                               "drummer (hi-hat left); the OH L/R files stay on the mix's left/right")
    return intensity, trim_sliders, perspective


def results_column() -> tuple[gr.Column, list[gr.components.Component]]:
    """The results column and its outputs, in the order the `/mix` function fills them."""
    # The results stay hidden until the first mix: no empty players, boxes or placeholder tables.
    with gr.Column(visible=False, elem_id="results") as results:
        with gr.Row():
            mix_player = gr.Audio(label="Model mix", type="filepath", format="wav", interactive=False,
                                  elem_id="mix-player")
            plain_player = gr.Audio(label="Plain sum (A/B: the tracks as uploaded, overheads hard left/right)",
                                    type="filepath", format="wav", interactive=False)
        download = gr.File(label="Download the mix (32-bit float WAV at the inputs' sample rate, not "
                           "normalised)", interactive=False, elem_id="mix-download", height=80)
        report = gr.Markdown(elem_id="mix-report")
        with gr.Row():
            waveform_mix = gr.LinePlot(x="time (s)", y="amplitude", label="Model mix: waveform", height=220,
                                       min_width=400)
            waveform_sum = gr.LinePlot(x="time (s)", y="amplitude", label="Plain sum: waveform", height=220,
                                       min_width=400)
        with gr.Row():
            spectrogram_mix = gr.Image(label="Model mix: spectrogram", format="png", interactive=False,
                                       min_width=480, elem_id="spectrogram-mix")
            spectrogram_sum = gr.Image(label="Plain sum: spectrogram (same colour scale)", format="png",
                                       interactive=False, min_width=480, elem_id="spectrogram-sum")
        gr.Markdown(
            "**Static balance.** The gain and pan the model's output layer gives each levelled, trimmed "
            "track directly (its weights on the input tracks): exactly what you hear at intensity 0. "
            "At intensity 1 the network's processing (EQ, compression, ambience) is added on top."
        )
        balance_table = gr.Dataframe(label="Static balance", interactive=False, wrap=True,
                                     elem_id="balance-table")
        gr.Markdown(
            "**Levels.** Each track as uploaded (its level in the plain sum) and mixed alone by the model, "
            f"over the loudest {LEVELS_EXCERPT_SECONDS:g} s: the change is the gain the model gave it, the "
            "balance where it panned it. With all tracks playing, compression and masking change this a little."
        )
        # One above the other, each the page's width: every column of the table and every bar's name shows.
        levels_plot = gr.BarPlot(x="track", y="change (dB)", label="Level change by the model (dB)", height=260,
                                 elem_id="levels-plot")
        levels_table = gr.Dataframe(label="Levels", interactive=False, wrap=True, elem_id="levels-table")
    return results, [mix_player, download, plain_player, report, waveform_mix, waveform_sum, spectrogram_mix,
                     spectrogram_sum, balance_table, levels_plot, levels_table]


def build_demo(model: MixWaveUNet, limits: Limits = DEFAULT_LIMITS,
               model_name: str = "the embedded default model") -> gr.Blocks:
    """The demo's `gr.Blocks` (queue included), not launched; its API: `/assign` (files -> slot menus
    and a note) and `/mix` (files, one file name or EMPTY per slot menu, the intensity, one trim in dB per
    model slot, the perspective -> players, download, report, plots, static balance, levels)."""
    model.eval()
    assign, mix = assign_handler(model, limits), mix_handler(model, limits)
    with gr.Blocks(title="Mix-Wave-U-Net drum mixing", analytics_enabled=False,
                   delete_cache=(CACHE_SECONDS // 2, CACHE_SECONDS)) as demo:
        files, note = upload_section(model, limits, model_name)
        menus = slot_menus(accepted_names(model.slot_names))
        intensity, trim_sliders, perspective = controls(model.slot_names)
        mix_button = gr.Button("Mix", variant="primary", elem_id="mix-button")
        results, outputs = results_column()

        files.change(assign, inputs=[files], outputs=[*menus, note], api_name="assign")
        mix_button.click(
            mix, inputs=[files, *menus, intensity, *trim_sliders, perspective], outputs=outputs,
            api_name="mix", concurrency_limit=1,
        ).success(lambda: gr.Column(visible=True), outputs=[results], api_visibility="private")
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


def launch_options(limits: Limits = DEFAULT_LIMITS) -> dict:
    """Keyword arguments of `demo.launch`: upload size limit, the example's folder, the theme and styles.

    The server's name and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (Gradio reads them).
    """
    from mixwave_hf.resources import EXAMPLE_DIR

    return {"max_file_size": limits.max_file_bytes, "allowed_paths": [str(EXAMPLE_DIR)], "theme": theme(),
            "css": CSS, "show_error": True}


def launch_demo(demo: gr.Blocks, limits: Limits = DEFAULT_LIMITS, **options) -> None:
    """Serve `demo` (prints its URL); `options` go to `demo.launch` over `launch_options`."""
    demo.launch(**{**launch_options(limits), **options})
