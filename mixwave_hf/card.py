"""Model cards: rendered from the model's config, a training record and an evaluation, then validated.

`render_model_card` fills the packaged template (`resources.TEMPLATE_PATH`); `MixWaveUNet.save_pretrained`
and `push_to_hub` call it through `MixWaveUNet.generate_model_card` (notes: docs/evaluation.md).

    card = render_model_card(model, evaluation=json.loads(Path("evaluation.json").read_text()))
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from mixwave_hf.errors import MixwaveError
from mixwave_hf.loudness import (
    ABSOLUTE_GATE_LUFS,
    BLEED_ONLY_DB,
    LOUD_PART_PERCENTILE,
    MEASURE_BLOCKS,
    STROKE_GATE_DB,
    STROKE_WINDOW_SECONDS,
)
from mixwave_hf.mixing import MAX_TRIM_DB, STATIC_LOUDNESS_GAP_LU
from mixwave_hf.resources import TEMPLATE_PATH
from mixwave_hf.results import MODEL_SYSTEM, group_lines, results_table

if TYPE_CHECKING:
    from mixwave_hf.model import MixWaveUNet


class CardError(MixwaveError, ValueError):
    """A card whose metadata would not be valid on the Hub; the message says which field."""


def render_model_card(
    model: MixWaveUNet,
    *,
    repo_id: str | None = None,
    training: dict | None = None,
    evaluation: dict | None = None,
    extra_evaluations: list[dict] | None = None,
    datasets: list[str] | None = None,
    license: str = "apache-2.0",
    data_licenses: str = "",
    synthetic_only: bool = False,
) -> ModelCard:
    """The model card of `model`, validated (`validate_model_card`).

    training: what to record of the training run, e.g. {"data": ..., "steps": ..., "hours": ...,
    "hardware": ..., "command": ...}; evaluation: the JSON of `mixwave evaluate`; datasets: Hub
    dataset ids it was trained on; extra_evaluations: evaluations on further splits (e.g. the
    synthetic stress split), shown after the first; license: the weights' licence (their data's, where it binds);
    repo_id: the Hub repo the card is for (its usage examples name it).
    """
    info = model._hub_mixin_info
    evaluations = ([evaluation] if evaluation else []) + list(extra_evaluations or [])
    data = ModelCardData(
        model_name=repo_id.split("/")[-1] if repo_id else "mix-wave-u-net",
        library_name=info.model_card_data.library_name,
        pipeline_tag=info.model_card_data.pipeline_tag,
        license=license,
        tags=list(info.model_card_data.tags or []),
        datasets=datasets or None,
        eval_results=[result for item in evaluations for result in eval_results(item)] or None,
    )
    lengths = model.valid_lengths(88_200 if model.levels == 10 else 1)
    systems, results = results_table(evaluation) if evaluation else ([], [])
    card = ModelCard.from_template(
        data,
        template_str=TEMPLATE_PATH.read_text(),
        title=repo_id.split("/")[-1] if repo_id else "Mix-Wave-U-Net (mixwave-hf)",
        model_reference=repo_id or "path/to/this/folder",
        repo_url=info.repo_url,
        slot_count=len(model.slot_names),
        perspective=model.perspective,
        perspective_note="a listener in front of the kit: hi-hat right, floor tom left"
        if model.perspective == "audience" else "hi-hat left, floor tom right",
        slots=", ".join(f"`{slot}`" for slot in model.slot_names),
        sample_rate=model.sample_rate,
        outputs=model.outputs,
        levels=model.levels,
        base_channels=model.down[0].out_channels,
        kernels=f"{model.down_kernel} down / {model.bottleneck_kernel} bottleneck / {model.up_kernel} up / "
        f"{model.output_kernel} out",
        upsampling=model.upsampling,
        parameters=f"{sum(parameter.numel() for parameter in model.parameters()):,}",
        example_input=f"{lengths.input:,}",
        example_output=f"{lengths.output:,}",
        context=f"{lengths.context:,}",
        training=training,
        evaluation=evaluation,
        systems=systems,
        results=results,
        groups=group_lines(evaluation) if evaluation else [],
        extra_evaluations=[{"evaluation": item, "systems": results_table(item)[0], "results": results_table(item)[1],
                            "groups": group_lines(item)} for item in extra_evaluations or []],
        baseline_notes=baseline_notes(evaluation) if evaluation else "",
        levelling=levelling_note(model),
        intensity=intensity_note(model),
        dynamics=dynamics_note(evaluations),
        synthetic_only=synthetic_only,
        data_licenses=data_licenses,
    )
    validate_model_card(card, evaluations)
    return card


def levelling_note(model: MixWaveUNet) -> str:
    """What the model does to its inputs' levels, for the card."""
    if getattr(model, "levelling", None) is None:
        return ("Inputs are expected at raw recorded levels (as they came off the preamps); the mix follows "
                "them.")
    strokes = (f"the mean power of its {MEASURE_BLOCKS['strokes'][0]:g} s blocks within {STROKE_GATE_DB:g} dB of its "
               "loudest")
    measure = {"strokes": f"on its own strokes ({strokes})",
               "loud_part": f"on its loud part (the {LOUD_PART_PERCENTILE:g}th percentile of its "
               f"{MEASURE_BLOCKS['loud_part'][0]:g} s loudness)",
               "integrated": "by its BS.1770 integrated loudness",
               "close_strokes": f"on its own strokes for close mics ({strokes}) and by integrated loudness for "
               "overheads",
               "bleed_aware": f"for close mics on the strokes found to be their own (the {STROKE_WINDOW_SECONDS:g} s "
               "after each; each mic's loudest transients compared with the other close mics by level and delay) "
               "and by integrated loudness for overheads"}[model.levelling]
    bleed = ("a tom mic found to hold only bleed (its drum never struck) is set "
             f"{BLEED_ONLY_DB:g} dB under the others, as an engineer pulls such a track down."
             if model.levelling == "bleed_aware" else
             "a track with no strokes of its own (bleed only) is still lifted to that level, and the model has "
             "learned to keep such tracks down only as far as its training data taught it.")
    return (f"Every track is first brought to {model.levelling_lufs:g} LUFS, measured {measure}, so the level it "
            f"was recorded at does not change the mix (a track below {ABSOLUTE_GATE_LUFS:g} LUFS, e.g. silence, is "
            "left as it is). "
            "A tom mic that is mostly bleed is levelled by its few strokes, not lifted to the kick's loudness; "
            + bleed)


def intensity_note(model: MixWaveUNet) -> str:
    """What `intensity` (and the per-track trims) do with this model's output layer, for the card."""
    control = (f"Controls: `trims` (dB per track, within ±{MAX_TRIM_DB:g}, after levelling, before the network) and "
               "`intensity` "
               "(0 to 1): the output layer splits exactly into a static part (its weights on the input tracks: a "
               "gain and pan per track) and a processed part (its weights on the network's features); the mix is "
               "static + intensity x processed, 1 being the model as trained.")
    if getattr(model, "output_init", None) == "balance":
        return (f"{control} This model was trained from a static balance (`output_init=\"balance\"`), so its "
                "static part carries its balance and intensity 0 is that balance without EQ, compression or "
                "ambience.")
    return (f"{control} This model was trained without the balance initialisation: it may keep much of its "
            "balance in the processed part, so lowering the intensity can change the level and balance, not only "
            "the processing (`mix_tracks` warns when the static part is more than "
            f"{STATIC_LOUDNESS_GAP_LU:g} LU from the full mix).")


def dynamics_note(evaluations: list[dict]) -> str:
    """What the model does to a recording's dynamics, for the card: its crest-factor distance to the dry balance
    in an evaluation against the dry target (`mixwave evaluate --target dry`), overall and per song group;
    "" without such an evaluation."""
    dry = next((item for item in evaluations if item.get("target") == "dry"), None)
    figures = dry["systems"].get("model", {}).get("summary", {}).get("crest_factor_error_db") if dry else None
    if not figures or figures.get("median") is None:
        return ""
    groups = []
    for name, group in dry.get("groups", {}).items():  # the tom groups; the per-kit ones would crowd the line
        median = group["summary"].get("model", {}).get("crest_factor_error_db", {}).get("median")
        if median is not None and not name.startswith("kit "):
            groups.append(f"{name} {median:.2g} dB")
    return (f"Dynamics: against the dry balance of the {dry['songs']} `{dry['split']}` songs (the tracks as recorded, "
            f"balanced and panned), the mix's crest factor (peak over RMS) lies a median {figures['median']:.2g} dB "
            f"[{figures['q1']:.2g}, {figures['q3']:.2g}] from the recording's"
            + (f" ({'; '.join(groups)})" if groups else "")
            + ". Intensity below 1 keeps more of the recording: 0 is the static balance, with no processing.")


def eval_results(evaluation: dict) -> list[EvalResult]:
    """The model's median per metric as Hub `model-index` results."""
    summary = evaluation["systems"][MODEL_SYSTEM]["summary"]
    return [
        EvalResult(
            task_type="audio-to-audio",
            task_name="Automatic drum mixing",
            dataset_type=evaluation["dataset"],
            dataset_name=evaluation["dataset"],
            dataset_split=evaluation["split"],
            dataset_config=evaluation["target"],
            metric_type=name,
            metric_name=f"{name} (median, {evaluation['metrics'][name]['unit']})",
            metric_value=round(figures["median"], 6),
        )
        for name, figures in summary.items()
        if figures["median"] is not None and math.isfinite(figures["median"])
    ]


def baseline_notes(evaluation: dict) -> str:
    notes = [f"*{system.get('label', name)}*: {system['description']}"
             for name, system in evaluation["systems"].items() if name != MODEL_SYSTEM and system.get("description")]
    return "; ".join(notes) + "." if notes else ""


def validate_model_card(card: ModelCard, evaluation: dict | list[dict] | None = None) -> None:
    """Check the card's metadata offline the way the Hub reads it; CardError naming what is wrong.

    The YAML is parsed back from the card's text: library_name, pipeline_tag and license must be
    set, and the `model-index` must hold one result per finite model metric of `evaluation`.
    """
    parsed = ModelCard(str(card)).data
    for field in ("library_name", "pipeline_tag", "license"):
        if not getattr(parsed, field, None):
            raise CardError(f"model card metadata lacks {field}")
    if evaluation is not None:
        evaluations = evaluation if isinstance(evaluation, list) else [evaluation]
        expected = sum(len(eval_results(item)) for item in evaluations)
        found = len(parsed.eval_results or [])
        if found != expected:
            raise CardError(f"model card model-index holds {found} results; expected {expected}")
