"""Classification pictures from a run's predictions on its scored split: the normalised confusion matrix,
and ROC and precision-recall curves of each class against the rest (with their areas in the legend)."""

from __future__ import annotations

import numpy as np

from backprop_cli.plot.figure import new_figure
from backprop_cli.plot.rundata import RunView
from backprop_cli.train.curves import average_precision, pr_curve, roc_auc, roc_curve
from backprop_cli.train.evaluate import classification_report

MAX_CURVES = 10  # more classes than this: one micro-averaged curve (every class's rows pooled)
MAX_ANNOTATED = 12  # cells get their numbers written in up to this many classes


def confusion_figure(view: RunView):
    labels, probabilities = view.scores
    names, split = view.class_names, view.scored_split[0]
    k = probabilities.shape[1]
    counts = np.asarray(classification_report(labels, np.argmax(probabilities, axis=1), k)["confusion_matrix"])
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # each true class's row sums to 1
    side = min(4 + 0.45 * k, 14)
    fig = new_figure(side + 1.5, side, f"Confusion matrix of {view.run.name}, {split} split (rows sum to 1)")
    ax = fig.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    ticks = range(k) if k <= 30 else range(0, k, max(k // 20, 1))
    ax.set_xticks(list(ticks), [_short(names[i]) for i in ticks], rotation=90 if k > 10 else 0)
    ax.set_yticks(list(ticks), [_short(names[i]) for i in ticks])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= MAX_ANNOTATED:
        for (i, j), rate in np.ndenumerate(rates):
            color = "white" if rate > 0.5 else "black"
            ax.text(j, i, f"{rate:.2f}\n({counts[i, j]})", ha="center", va="center", fontsize="x-small", color=color)
    return fig


def curves_figure(view: RunView, kind: str):
    """kind "roc" or "pr": one curve per class (one-vs-rest), or a micro-average for many classes."""
    labels, probabilities = view.scores
    names, split = view.class_names, view.scored_split[0]
    k = probabilities.shape[1]
    title = {"roc": "ROC curves", "pr": "Precision-recall curves"}[kind]
    fig = new_figure(7.5, 6.5, f"{title} of {view.run.name}, {split} split, each class against the rest")
    ax = fig.add_subplot()
    for name, positive, scores in _one_vs_rest(labels, probabilities, names):
        if positive.all() or not positive.any():
            continue  # a class absent from the split (or alone in it) has no curve
        if kind == "roc":
            x, y = roc_curve(positive, scores)
            label = f"{name} (AUC {roc_auc(positive, scores):.3f})"
        else:
            x, y = pr_curve(positive, scores)
            label = f"{name} (AP {average_precision(positive, scores):.3f})"
        ax.plot(x, y, drawstyle="steps-post" if kind == "pr" else "default", label=label)
    _decorate(ax, kind, base_rate=np.mean(labels == 1) if k == 2 else None)
    return fig


def _one_vs_rest(labels: np.ndarray, probabilities: np.ndarray, names: list[str]):
    k = probabilities.shape[1]
    if k == 2:  # binary: the positive class's curve says it all
        yield _short(names[1]), labels == 1, probabilities[:, 1]
    elif k <= MAX_CURVES:
        for c in range(k):
            yield _short(names[c]), labels == c, probabilities[:, c]
    else:
        positive = labels[:, None] == np.arange(k)
        yield f"micro-average of {k} classes", positive.reshape(-1), probabilities.reshape(-1)


def _decorate(ax, kind: str, base_rate: float | None) -> None:
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ":", color="gray", label="chance")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate (recall)")
    else:
        if base_rate is not None:
            ax.axhline(base_rate, linestyle=":", color="gray", label="chance (positive rate)")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right" if kind == "roc" else "lower left")


def _short(name: str) -> str:
    """Class names on axes: repr of whitespace characters (a text model's ' ' and '\\n'), at most 12 characters."""
    shown = repr(name)[1:-1] if not name.strip() or "\n" in name else name
    return shown if len(shown) <= 12 else shown[:11] + "…"
