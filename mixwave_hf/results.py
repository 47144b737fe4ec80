"""The results table of an evaluation (the JSON of `evaluate.evaluate`, layout: docs/evaluation.md): read by the
command line's printout and the model card, so that the card needs no evaluator.

    labels, rows = results_table(json.loads(Path("evaluation.json").read_text()))
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from mixwave_hf.metrics import HEADLINE_METRIC

#: The evaluated model's key in an evaluation's "systems" (the baselines have their own).
MODEL_SYSTEM = "model"
#: The rows of the short results table (`markdown_table`'s default): the headline, the plain STFT
#: distance, the level and SI-SDR.
SUMMARY_METRICS = (HEADLINE_METRIC, "stereo_stft", "loudness_error", "si_sdr")


def format_table(evaluation: dict) -> str:
    """The evaluation as a text table: one row per metric, "median [q1, q3]" per system."""
    labels, rows = results_table(evaluation)
    header = ["metric", "unit", *labels]
    lines = [[f"{row['metric']} ({'lower' if row['lower_is_better'] else 'higher'} is better)", row["unit"],
              *row["cells"]] for row in rows]
    widths = [max(len(str(line[column])) for line in [header, *lines]) for column in range(len(header))]
    text = [" | ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
            for line in [header, *lines]]
    text.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join([*text, *group_lines(evaluation)])


def results_table(evaluation: dict) -> tuple[list[str], list[dict]]:
    """(column labels, rows) of the results table: "median [q1, q3]" per metric and system."""
    names = system_names(evaluation)
    labels = [evaluation["systems"][name].get("label", name) for name in names]
    rows = []
    for metric, info in evaluation["metrics"].items():
        cells = []
        for name in names:
            system = evaluation["systems"][name]
            figures = system["summary"].get(metric)
            if system.get("loudness_oracle") and info.get("uses_loudness"):
                cells.append("(oracle)")
            elif figures is None or figures["median"] is None or not math.isfinite(figures["median"]):
                cells.append("–")
            else:
                cells.append(f"{figures['median']:.3g} [{figures['q1']:.3g}, {figures['q3']:.3g}]")
        rows.append({"metric": metric, "unit": info["unit"], "lower_is_better": info["lower_is_better"],
                     "cells": cells})
    return labels, rows


def group_lines(evaluation: dict) -> list[str]:
    """One line per song group of an evaluation (e.g. stress songs by their toms): headline medians."""
    headline = HEADLINE_METRIC
    lines = []
    for group, figures in evaluation.get("groups", {}).items():
        medians = ", ".join(
            f"{evaluation['systems'][name].get('label', name)} {summary[headline]['median']:.3f}"
            for name, summary in figures["summary"].items()
            if summary.get(headline, {}).get("median") is not None)
        lines.append(f"{group} ({len(figures['songs'])} songs), median {headline}: {medians}")
    return lines


def system_names(evaluation: dict) -> list[str]:
    """The evaluation's systems in table order: the model first, then the baselines as recorded."""
    return [MODEL_SYSTEM, *(name for name in evaluation["systems"] if name != MODEL_SYSTEM)]


def markdown_table(evaluation: dict, metric_names: Iterable[str] | None = SUMMARY_METRICS,
                   groups: bool = False) -> str:
    """The evaluation as a Markdown table, cells as the card's (`results_table`): one row per metric of
    `metric_names` (None: every metric), "median [q1, q3]" per system; `groups` adds `group_lines` as a list."""
    labels, rows = results_table(evaluation)
    by_metric = {row["metric"]: row for row in rows}
    chosen = [by_metric[name] for name in metric_names] if metric_names is not None else rows
    lines = ["| metric | unit | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
    lines += [f"| {row['metric']} ({'lower' if row['lower_is_better'] else 'higher'} is better) | {row['unit']} | "
              + " | ".join(row["cells"]) + " |" for row in chosen]
    if groups and evaluation.get("groups"):
        lines += ["", *group_table(evaluation, labels)]
    return "\n".join(lines)


def group_table(evaluation: dict, labels: list[str]) -> list[str]:
    """Markdown rows of the song groups (e.g. stress songs by their toms): headline / SI-SDR medians per system."""
    lines = [f"| songs: {HEADLINE_METRIC} / si_sdr | " + " | ".join(labels) + " |",
             "|---|" + "---:|" * len(labels)]
    for group, figures in evaluation["groups"].items():
        cells = []
        for name in system_names(evaluation):
            summary = figures["summary"].get(name, {})
            medians = [summary.get(metric, {}).get("median") for metric in (HEADLINE_METRIC, "si_sdr")]
            cells.append(" / ".join("–" if value is None else f"{value:.3g}" for value in medians) + " dB")
        lines.append(f"| {group} ({len(figures['songs'])} songs) | " + " | ".join(cells) + " |")
    return lines
