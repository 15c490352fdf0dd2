"""Histograms of what flows through each layer at a sampled step: pre-activations z, outputs y, gradients dy.

Fixed bins: every histogram has BINS equal bins between the tensor's own smallest and largest finite
value (numpy.histogram's rule, so a reader can redo it), stored as {lo, hi, counts} with the count of
non-finite values apart. About 40 numbers a tensor: a few KB a sample for a deep network.

`HistogramTaps` taps each layer the gradient monitor watches (diagnostics/layer_stats.watch): its
activation's input and output (z and y) and the gradient the activation received (dy); a layer with no
activation gives its own output as y and the gradient it received as dy. A conv layer that fuses relu
into its kernel never calls the activation's forward: it has y (its output) but no z.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backprop_cli.diagnostics.layer_stats import Watched
from backprop_cli.diagnostics.taps import Tap, Taps

BINS = 32


def histogram(a: np.ndarray, bins: int = BINS) -> dict:
    """{"lo", "hi", "counts", "nonfinite"}: numpy.histogram of the finite values over their own range."""
    a = np.asarray(a).reshape(-1)
    finite = np.isfinite(a)
    nonfinite = int(a.size - np.count_nonzero(finite))
    if nonfinite:
        a = a[finite]
    if a.size == 0:
        return {"lo": None, "hi": None, "counts": [], "nonfinite": nonfinite}
    counts, edges = np.histogram(a, bins=bins)
    return {"lo": float(edges[0]), "hi": float(edges[-1]), "counts": counts.tolist(), "nonfinite": nonfinite}


def edges(h: dict) -> np.ndarray:
    """The bin edges a stored histogram stands for (numpy.histogram's, for its lo, hi and bin count)."""
    return np.histogram_bin_edges([], bins=len(h["counts"]), range=(h["lo"], h["hi"]))


class HistogramTaps:
    """Taps on the watched layers that histogram z, y and dy as the step runs; `take()` hands them over."""

    def __init__(self, model, watched: list[Watched]):
        layers = dict(model.named_layers())
        self._sample: dict[str, dict] = {}
        taps = []
        for w in watched:
            layer, act = layers[w.name], w.activation
            if act is None:
                taps.append(Tap(layer, self._output(w.name), self._gradient(w.name)))
                continue
            taps.append(Tap(act, self._pair(w.name), self._gradient(w.name)))
            if act is getattr(layer, "act", None):  # an inner activation a kernel may fuse: y from the layer
                taps.append(Tap(layer, self._output(w.name, unless_seen=True)))
        self.taps = Taps(taps)

    def _entry(self, name: str) -> dict:
        return self._sample.setdefault(name, {})

    def _output(self, name: str, unless_seen: bool = False) -> Callable:
        def keep(x, y):
            if not (unless_seen and "y" in self._entry(name)):  # the activation's own forward ran: y is kept
                self._entry(name)["y"] = histogram(y)

        return keep

    def _pair(self, name: str) -> Callable:
        def keep(z, y):  # the activation's forward: its input is z, its output y
            self._entry(name).update(z=histogram(z), y=histogram(y))

        return keep

    def _gradient(self, name: str) -> Callable:
        def keep(dy, dx):
            self._entry(name)["dy"] = histogram(dy)

        return keep

    def take(self) -> dict[str, dict]:
        sample, self._sample = self._sample, {}
        return sample
