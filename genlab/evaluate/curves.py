"""The training curves of many runs from their history.jsonl records: one plot per logged metric, one line per
run, the runs of one seed group in one colour (matplotlib's headless Agg canvas)."""
from __future__ import annotations

import math
from typing import Any, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

LEFT_OUT = ("step", "images_per_second")  # not curves of the model
PLOTS_PER_ROW = 3
MAX_LEGEND = 12  # runs named in the legend; more are drawn but not listed
LINE_STYLES = ("-", "--", ":", "-.")  # the seeds of one group, told apart
LEGEND_CHARACTERS_PER_INCH = 14  # of the legend's small font: how many labels fit side by side


def history_curves(records: Sequence[dict[str, float]]) -> dict[str, tuple[list[int], list[float]]]:
    """Per metric, its steps and values, from a run's history records (genlab.rundir.history); a step
    logged again after a resume keeps its last value."""
    by_step: dict[int, dict[str, float]] = {}
    for record in records:
        by_step.setdefault(int(record["step"]), {}).update(
            {key: float(value) for key, value in record.items() if key not in LEFT_OUT}
        )
    curves: dict[str, tuple[list[int], list[float]]] = {}
    for step in sorted(by_step):
        for key, value in by_step[step].items():
            steps, values = curves.setdefault(key, ([], []))
            steps.append(step)
            values.append(value)
    return curves


def curves_figure(titles: Sequence[str], histories: Sequence[dict], groups: Sequence[int]) -> Figure | None:
    """One subplot per metric any run logged, one line per run (``groups[i]`` picks run i's colour;
    the runs of one group get one line style each)."""
    metrics = list(dict.fromkeys(metric for history in histories for metric in history))
    if not metrics:
        return None
    columns = min(PLOTS_PER_ROW, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows + 0.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    colours = [f"C{index % 10}" for index in range(max(groups, default=0) + 1)]
    styles = [LINE_STYLES[list(groups[:number]).count(group) % len(LINE_STYLES)] for number, group in enumerate(groups)]
    for position, metric in enumerate(metrics):
        axes = figure.add_subplot(rows, columns, position + 1)
        for number, (title, history, group) in enumerate(zip(titles, histories, groups)):
            if metric in history:
                steps, values = history[metric]
                label = title if number < MAX_LEGEND else None
                axes.plot(steps, values, color=colours[group], linestyle=styles[number], linewidth=1.2, alpha=0.85, label=label)
        axes.set_title(metric, fontsize="medium")
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    legend: dict[str, Any] = {}  # every run once, whichever plots it appears in
    for axes in figure.axes:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if legend:
        longest = max(len(label) for label in legend)
        columns_fitting = max(1, int(LEGEND_CHARACTERS_PER_INCH * figure.get_figwidth()) // (longest + 6))
        figure.legend(
            list(legend.values()), list(legend), loc="outside lower center",
            ncols=min(4, len(legend), columns_fitting), fontsize="small", frameon=False,
        )
    return figure
