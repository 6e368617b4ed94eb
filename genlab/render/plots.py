"""Plots of latent codes with matplotlib's headless Agg canvas (no pyplot, no display needed)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from genlab.files import atomic_path

MAX_HISTOGRAMS = 16
DPI = 100


def scatter_codes(
    codes: np.ndarray,
    dims: tuple[int, int],
    labels: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """Codes on two latent dimensions, one colour per class with a legend of class names."""
    figure = Figure(figsize=(7, 6), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x, y = codes[:, dims[0]], codes[:, dims[1]]
    if labels is None:
        axes.scatter(x, y, s=4, alpha=0.6)
    else:
        colours = _class_colours(len(class_names) if class_names else int(labels.max()) + 1)
        for label in np.unique(labels):
            chosen = labels == label
            name = class_names[int(label)] if class_names and int(label) < len(class_names) else str(label)
            axes.scatter(x[chosen], y[chosen], s=4, alpha=0.7, color=colours[int(label) % len(colours)], label=name)
        axes.legend(markerscale=3, fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    axes.set_xlabel(f"z{dims[0]}")
    axes.set_ylabel(f"z{dims[1]}")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def _class_colours(count: int) -> list:
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(index % palette.N) for index in range(max(count, 1))]


def code_histograms(codes: np.ndarray, title: str = "", bins: int = 40) -> Figure:
    """One histogram per latent dimension (at most MAX_HISTOGRAMS), each with the N(0, 1) density over it."""
    count = min(codes.shape[1], MAX_HISTOGRAMS)
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(3 * columns, 2.4 * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    grid = np.linspace(-4.0, 4.0, 201)
    density = np.exp(-0.5 * grid**2) / math.sqrt(2.0 * math.pi)
    for dim in range(count):
        axes = figure.add_subplot(rows, columns, dim + 1)
        axes.hist(codes[:, dim], bins=bins, density=True, color="tab:blue", alpha=0.7)
        axes.plot(grid, density, color="black", linewidth=1.0, label="N(0, 1)")
        axes.set_title(f"z{dim}", fontsize="small")
        axes.tick_params(labelsize="x-small")
        if dim == 0:
            axes.legend(fontsize="x-small", frameon=False)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write a figure as PNG; no software or date stamp, so equal figures give equal bytes."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=DPI, metadata={"Software": None})
    return Path(path)
