"""Every eval ends the same way: a JSON report, a PNG plot beside it, and a printed table."""

from __future__ import annotations

import json
import logging
import math
import platform
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: evals run on servers without a display
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

log = logging.getLogger(__name__)


def write_report(out: Path, name: str, report: dict[str, object], figure: Figure) -> Path:
    """Write `<out>/<name>.json` and `<out>/<name>.png`; returns the JSON path."""
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        **report,
    }
    path = out / f"{name}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    figure.savefig(out / f"{name}.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    log.info("wrote %s and %s", path, path.with_suffix(".png"))
    return path


def machine() -> str:
    """CPU and accelerator in one line, since every speed figure depends on them."""
    import os

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.machine()} {os.cpu_count()} cores, {gpu}, Python {platform.python_version()}"


def format_table(rows: Sequence[Mapping[str, object]]) -> str:
    """A plain-text table (markdown pipes) whose columns are the union of the rows' keys."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def bar_chart(
    groups: Mapping[str, Mapping[str, float]],
    title: str,
    references: Mapping[str, float] | None = None,
) -> Figure:
    """Grouped bars (one group per system, one bar per metric); references as dashed lines."""
    metrics = list(dict.fromkeys(m for values in groups.values() for m in values))
    figure, axis = plt.subplots(figsize=(max(6, 1.6 * len(groups) + 2), 4.5))
    width = 0.8 / max(1, len(metrics))
    for j, metric in enumerate(metrics):
        xs = [i + j * width for i in range(len(groups))]
        ys = [values.get(metric, 0.0) for values in groups.values()]
        bars = axis.bar(xs, ys, width, label=metric)
        axis.bar_label(bars, fmt="%.3f", fontsize=7, rotation=90, padding=2)
    for k, (label, value) in enumerate((references or {}).items()):
        axis.axhline(value, linestyle="--", linewidth=0.8, color=f"C{(k + len(metrics)) % 10}")
        axis.text(len(groups) - 0.4, value, f" {label} {value:.3f}", fontsize=6, va="center")
    axis.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))], list(groups))
    axis.set_ylim(0, 1.1)
    axis.set_title(title)
    axis.legend(fontsize=7, loc="upper left", ncols=max(1, len(metrics)))
    return figure


def roc_figure(
    labels: Sequence[int], scores: Sequence[float], threshold: float, title: str
) -> Figure:
    """ROC curve with the operating point of the chosen threshold marked."""
    import numpy as np
    from sklearn.metrics import roc_curve

    y, s = np.asarray(labels), np.asarray(scores)
    figure, axis = plt.subplots(figsize=(5, 5))
    if len(set(y.tolist())) == 2:
        fpr, tpr, _ = roc_curve(y, s)
        axis.plot(fpr, tpr, label="ROC")
        predicted = s >= threshold
        point = (predicted[y == 0].mean(), predicted[y == 1].mean())
        axis.plot(*point, "o", label=f"threshold {threshold:.3f}")
    axis.plot([0, 1], [0, 1], ":", color="grey")
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title(title)
    axis.legend(loc="lower right")
    return figure
