"""From raw measurements to medians, ratios, the targets of issue 6, and the markdown table."""

from __future__ import annotations

import statistics
from collections import defaultdict

from bench import cnn, sequences
from bench.common import later_epochs_median
from bench.workloads import IMPL_LABELS, MLP_WORKLOADS

EPOCH_WORKLOADS = {
    **{k: (w.title, w.impls) for k, w in MLP_WORKLOADS.items()},
    cnn.KEY: (cnn.TITLE, cnn.IMPLS),
    **{k: (title, sequences.IMPLS) for k, (title, _) in sequences.WORKLOADS.items()},
}
IMPL_ALIASES = {"torch-cnn": "torch", "torch-seq": "torch"}  # each PyTorch worker is the "torch" row of its table


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def aggregate(raw: list[dict]) -> dict:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in raw:
        groups[(r["workload"], IMPL_ALIASES.get(r["impl"], r["impl"]))].append(r)
    summary: dict = {"mlp": {}, "gemm": None, "digits": {}, "pipelines": {}, "cnn_gemm": None, "extra": {}}
    for (workload, impl), runs in groups.items():
        if workload in EPOCH_WORKLOADS:
            epoch = _spread([later_epochs_median(r["epoch_times"]) for r in runs])
            summary["mlp"].setdefault(workload, {})[impl] = {
                "first_epoch_ratio": _spread(
                    [r["epoch_times"][0] / later_epochs_median(r["epoch_times"]) for r in runs]
                ),
                "epoch_s": epoch,
                "samples_per_s": runs[0].get("rows", 60_000) / epoch["median"],
                "rss_mb": statistics.median(r["rss_mb"] for r in runs),
                "test_accuracy": _median_of(runs, "test_accuracy"),
                "val_loss": _median_of(runs, "val_loss"),
                "epochs": len(runs[0]["epoch_times"]),
                "dtype": runs[0].get("dtype"),
            }
        elif workload == "gemm":
            best = max(r["gflops_max"] for r in runs)  # the ceiling: interference only slows a matmul down
            summary["gemm"] = {
                "gflops": _spread([r["gflops"] for r in runs]),
                "gflops_best": best,
                "bound_s": runs[0]["epoch_flops"] / (best * 1e9),
                "bound_median_s": statistics.median(r["bound_s"] for r in runs),
                "epoch_gflop": runs[0]["epoch_flops"] / 1e9,
            }
        elif workload == "cnn-gemm":
            best = max(r["gflops_best"] for r in runs)
            summary["cnn_gemm"] = {
                "gflops_best": best,
                "gflops": _spread([max(r["whole"]["gflops"], r["blocks"]["gflops"]) for r in runs]),
                "bound_s": runs[0]["epoch_flops"] / (best * 1e9),
                "epoch_gflop": runs[0]["epoch_flops"] / 1e9,
            }
        elif workload == "cnn-config":
            summary["extra"]["cnn_config"] = {"test_accuracy": runs[0]["test_accuracy"], "epochs": runs[0]["epochs"]}
        elif workload == "compile":
            summary["extra"]["compile"] = {
                "cold_s": _spread([r["cold_s"] for r in runs]),
                "warm_s": _spread([r["warm_s"] for r in runs]),
                "kernels": runs[0]["kernels"],
            }
        elif workload == "digits":
            key = "fit_s" if impl == "sklearn-digits" else "wall_s"
            summary["digits"][impl] = {
                "time_s": _spread([r[key] for r in runs]),
                "process_wall_s": statistics.median(r["wall_s"] for r in runs),
                "rss_mb": statistics.median(r["rss_mb"] for r in runs),
            }
        else:
            summary["pipelines"][impl] = {
                "wall_s": _spread([r["wall_s"] for r in runs]),
                "rss_mb": statistics.median(r["rss_mb"] for r in runs),
            }
    summary["targets"] = targets(summary)
    summary["targets_14"] = targets_14(summary)
    summary["targets_two_threads"] = targets_two_threads(summary)
    return summary


def _median_of(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _epoch(summary: dict, workload: str, impl: str) -> float | None:
    entry = summary["mlp"].get(workload, {}).get(impl)
    return entry["epoch_s"]["median"] if entry else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets(s: dict) -> list[dict]:
    """Issue 6's targets, each with the figure measured in this run (None: not measured)."""
    ours = _epoch(s, "mlp-adam", "backprop-cli")
    w1 = s["mlp"].get("mlp-adam", {})
    bound = s["gemm"]["bound_s"] if s["gemm"] else None
    pipes = s["pipelines"]
    rows = [
        ("MLP+Adam epoch ≤ 1.0× PyTorch default Adam (aim 0.8×)", _ratio(ours, _epoch(s, "mlp-adam", "torch")), 1.0),
        ("MLP+Adam epoch ≤ 0.6× scikit-learn (aim 0.5×)", _ratio(ours, _epoch(s, "mlp-adam", "sklearn")), 0.6),
        ("MLP+Adam epoch ≤ 2.0× GEMM lower bound", _ratio(ours, bound), 2.0),
        (
            "peak RSS below PyTorch's (ratio < 1)",
            _ratio(w1.get("backprop-cli", {}).get("rss_mb"), w1.get("torch", {}).get("rss_mb")),
            0.9999,
        ),
        (
            "test accuracy ≥ 0.978 after 10 epochs (workload 1)",
            w1.get("backprop-cli", {}).get("test_accuracy") if w1.get("backprop-cli", {}).get("epochs") == 10 else None,
            -0.978,
        ),
        (
            "batch 32 epoch ≤ 1.0× PyTorch",
            _ratio(_epoch(s, "mlp-adam-b32", "backprop-cli"), _epoch(s, "mlp-adam-b32", "torch")),
            1.0,
        ),
        ("`backprop --version` < 0.3 s", pipes.get("version", {}).get("wall_s", {}).get("median"), 0.3),
        ("`backprop predict` 10 rows < 0.6 s", pipes.get("predict-10", {}).get("wall_s", {}).get("median"), 0.6),
    ]
    out = []
    for what, value, limit in rows:
        met = None if value is None else (value >= -limit if limit < 0 else value <= limit)
        out.append({"target": what, "value": value, "met": met})
    return out


def targets_14(s: dict) -> list[dict]:
    """Issue 14's targets: (what, measured, must, aim); lower is better but for accuracy (negative limits)."""
    cnn_rows = s["mlp"].get(cnn.KEY, {})
    ours, torch = cnn_rows.get("backprop-cli"), cnn_rows.get("torch")
    bound = s["cnn_gemm"]["bound_s"] if s["cnn_gemm"] else None
    first = [
        s["mlp"][k]["backprop-cli"]["first_epoch_ratio"]["median"]
        for k in ("mlp-adam", cnn.KEY)
        if "backprop-cli" in s["mlp"].get(k, {})
    ]
    rows = [
        (
            "CNN epoch vs PyTorch default Adam",
            _ratio(_epoch(s, cnn.KEY, "backprop-cli"), _epoch(s, cnn.KEY, "torch")),
            2.0,
            1.5,
        ),
        (
            "CNN epoch vs its FLOP bound (NumPy's best float32 GEMM rate)",
            _ratio(_epoch(s, cnn.KEY, "backprop-cli"), bound),
            2.5,
            1.8,
        ),
        (
            "MNIST MLP Adam epoch vs PyTorch, default install",
            _ratio(_epoch(s, "mlp-adam", "backprop-cli"), _epoch(s, "mlp-adam", "torch")),
            0.8,
            0.65,
        ),
        (
            "first epoch vs the median of later ones (worst of MLP and CNN `backprop train`)",
            max(first) if first else None,
            1.2,
            1.05,
        ),
        (
            "peak RSS of the CNN run vs PyTorch's",
            _ratio(ours and ours["rss_mb"], torch and torch["rss_mb"]),
            0.9999,
            0.7,
        ),
        (
            "CNN test accuracy, configs/mnist-cnn.yaml as shipped",
            s["extra"].get("cnn_config", {}).get("test_accuracy"),
            -0.990,
            -0.993,
        ),
    ]
    out = []
    for what, value, must, aim in rows:
        out.append(
            {
                "target": what,
                "value": value,
                "must": abs(must),
                "aim": abs(aim),
                "met": _met(value, must),
                "aimed": _met(value, aim),
            }
        )
    return out


def targets_two_threads(s: dict) -> list[dict]:
    """The CNN, char LSTM/GRU and transformer targets: epoch-time or peak-RSS ratios to PyTorch (2 threads each)."""

    def ratio(key: str, field: str = "epoch") -> float | None:
        rows = s["mlp"].get(key, {})
        ours, torch = rows.get("backprop-cli"), rows.get("torch")
        if field == "epoch":
            return _ratio(_epoch(s, key, "backprop-cli"), _epoch(s, key, "torch"))
        return _ratio(ours and ours["rss_mb"], torch and torch["rss_mb"])

    rows = [
        ("MNIST CNN epoch vs PyTorch", ratio(cnn.KEY), 1.2, 1.0),
        ("MNIST CNN peak RSS vs PyTorch's", ratio(cnn.KEY, "rss"), 1.0, 1.0),
        ("char LSTM epoch vs PyTorch", ratio("lstm-char"), 1.0, 0.8),
        ("char GRU epoch vs PyTorch", ratio("gru-char"), 1.0, 0.8),
        ("char transformer epoch vs PyTorch", ratio("transformer"), 1.2, 1.0),
        ("char transformer peak RSS vs PyTorch's", ratio("transformer", "rss"), 1.0, 1.0),
        (
            "CNN test accuracy, configs/mnist-cnn.yaml as shipped (unchanged)",
            s["extra"].get("cnn_config", {}).get("test_accuracy"),
            -0.990,
            -0.993,
        ),
    ]
    return [
        {"target": what, "value": v, "must": abs(must), "aim": abs(aim), "met": _met(v, must), "aimed": _met(v, aim)}
        for what, v, must, aim in rows
    ]


def _met(value: float | None, limit: float) -> bool | None:
    """value <= limit; a negative limit means value >= -limit (accuracy); None when not measured."""
    return None if value is None else (value >= -limit if limit < 0 else value <= limit)


def _targets_table(title: str, rows: list[dict]) -> list[str]:
    yes = {True: "yes", False: "**no**", None: "not measured"}
    lines = [f"### {title}", "", "| target | must | aim | measured | met | aim met |", "|---|---|---|---|---|---|"]
    for t in rows:
        lines.append(
            f"| {t['target']} | {t['must']:.3g} | {t['aim']:.3g} | {_f(t['value'], '{:.3f}')} | "
            f"{yes[t['met']]} | {yes[t['aimed']]} |"
        )
    return lines + [""]


def _f(value, fmt: str = "{:.2f}") -> str:
    return "–" if value is None else fmt.format(value)


def _mlp_table(key: str, rows: dict, s: dict) -> list[str]:
    torch, sk = _epoch(s, key, "torch"), _epoch(s, key, "sklearn")
    bound = s["gemm"]["bound_s"] if s["gemm"] and key not in ("mlp-adam-b32", cnn.KEY) else None
    if key == cnn.KEY:
        bound = s["cnn_gemm"]["bound_s"] if s["cnn_gemm"] else None
    title, impls = EPOCH_WORKLOADS[key]
    lines = [
        f"### {title}",
        "",
        "| implementation | epoch s, median [min–max] | samples/s | peak RSS MB | test acc | "
        "× PyTorch | × sklearn | × GEMM bound | 1st epoch × later |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for impl in impls:
        if impl not in rows:
            continue
        r = rows[impl]
        e = r["epoch_s"]
        lines.append(
            f"| {IMPL_LABELS[impl]} | {e['median']:.3f} [{e['min']:.3f}–{e['max']:.3f}] | "
            f"{r['samples_per_s']:,.0f} | {r['rss_mb']:.0f} | {_f(r['test_accuracy'], '{:.4f}')} | "
            f"{_f(_ratio(e['median'], torch))} | {_f(_ratio(e['median'], sk))} | "
            f"{_f(_ratio(e['median'], bound))} | {r['first_epoch_ratio']['median']:.2f} |"
        )
    return lines + [""]


def _sequence_table(key: str, rows: dict, s: dict) -> list[str]:
    """A character model's table: windows of 64 characters per second, and the held-out loss after the last epoch."""
    torch = _epoch(s, key, "torch")
    lines = [
        f"### {EPOCH_WORKLOADS[key][0]}",
        "",
        "| implementation | epoch s, median [min–max] | windows/s | peak RSS MB | val loss | × PyTorch | "
        "1st epoch × later |",
        "|---|---|---|---|---|---|---|",
    ]
    for impl in EPOCH_WORKLOADS[key][1]:
        if impl in rows:
            r, e = rows[impl], rows[impl]["epoch_s"]
            lines.append(
                f"| {IMPL_LABELS[impl]} | {e['median']:.2f} [{e['min']:.2f}–{e['max']:.2f}] | "
                f"{r['samples_per_s']:,.0f} | {r['rss_mb']:.0f} | {_f(r['val_loss'], '{:.3f}')} | "
                f"{_f(_ratio(e['median'], torch))} | {r['first_epoch_ratio']['median']:.2f} |"
            )
    return lines + [""]


def markdown(s: dict, meta: dict) -> str:
    lines = [
        f"## backprop benchmark, {meta['date']}",
        "",
        f"CPU: {meta['cpu']}. Threads: {meta['threads']} for every implementation. "
        f"Python {meta['python']}. {meta['repeats']} interleaved repeats, each measurement a fresh process"
        f"{' (quick mode: fewer epochs)' if meta['quick'] else ''}. Epoch time: per run the median of "
        "epochs 2..E, then the median [min–max] over the runs.",
        "",
    ]
    if meta.get("load"):
        start = meta.get("load_start") or meta["load"]
        lines += [
            f"Host load (1/5/15-min averages, `uptime`): {start[0]:.2f} {start[1]:.2f} {start[2]:.2f} at the start, "
            f"{meta['load'][0]:.2f} {meta['load'][1]:.2f} {meta['load'][2]:.2f} at the end, "
            f"on {meta['cpu'].split('; ')[-1].rstrip(')')}.",
            "",
        ]
    rows = meta.get("cnn_rows", 60_000)
    if rows < 60_000 and cnn.KEY in s["mlp"]:
        lines += [
            f"The CNN (workload 7) trained on the first {rows:,} MNIST rows, on a crowded host; its epoch times "
            f"are scaled by 60,000 / {rows:,} to a full epoch (the same steps, {60_000 // rows}× as many).",
            "",
        ]
    compiled = s.get("extra", {}).get("compile")
    if compiled:
        lines += [
            f"Kernels that ran: {compiled['kernels']}. Compiling them in a fresh process with an empty numba cache "
            f"(cold): {compiled['cold_s']['median']:.2f} s "
            f"[{compiled['cold_s']['min']:.2f}–{compiled['cold_s']['max']:.2f}]; "
            f"loading them from the disk cache (every later process): {compiled['warm_s']['median']:.3f} s "
            f"[{compiled['warm_s']['min']:.3f}–{compiled['warm_s']['max']:.3f}].",
            "",
        ]
    for key, rows in s["mlp"].items():
        lines += _sequence_table(key, rows, s) if key in sequences.WORKLOADS else _mlp_table(key, rows, s)
    if s.get("cnn_gemm"):
        g = s["cnn_gemm"]
        lines += [
            "#### 7b. The CNN's FLOP bound",
            "",
            f"One step's matmuls as im2col has them (conv forward W·cols, dW = dz·colsᵀ, d cols = Wᵀ·dz but for "
            f"the first layer; the dense layers' three): {g['epoch_gflop']:.0f} GFLOP an epoch. NumPy's best "
            f"float32 rate on them {g['gflops_best']:.1f} GFLOP/s (per-run medians {g['gflops']['median']:.1f} "
            f"[{g['gflops']['min']:.1f}–{g['gflops']['max']:.1f}]), so the bound is **{g['bound_s']:.2f} s** an epoch.",
            "",
        ]
    if s["gemm"]:
        g = s["gemm"]
        lines += [
            "### 6. The ceiling: NumPy float32 matmuls at the shapes of workload 1's step",
            "",
            f"Best trial {g['gflops_best']:.1f} GFLOP/s (per-run medians {g['gflops']['median']:.1f} "
            f"[{g['gflops']['min']:.1f}–{g['gflops']['max']:.1f}]: the host's neighbours slow the rest); an epoch "
            f"is {g['epoch_gflop']:.1f} GFLOP of matmuls, so its lower bound is **{g['bound_s']:.3f} s** at the "
            f"best rate ({g['bound_median_s']:.3f} s at the median one). The ratios use the best rate.",
            "",
        ]
    if s["digits"]:
        d = s["digits"]
        ours, sk = d.get("backprop-cli"), d.get("sklearn-digits")
        lines += [
            "### 4. digits end to end (64-128-64-10, Adam, batch 64, 30 epochs)",
            "",
            "| | seconds, median [min–max] | peak RSS MB |",
            "|---|---|---|",
        ]
        if ours:
            t = ours["time_s"]
            lines.append(
                f"| `backprop train` (whole command, start-up to exit) | {t['median']:.2f} "
                f"[{t['min']:.2f}–{t['max']:.2f}] | {ours['rss_mb']:.0f} |"
            )
        if sk:
            t = sk["time_s"]
            lines.append(
                f"| scikit-learn `fit` alone (its process: {sk['process_wall_s']:.2f} s) | "
                f"{t['median']:.2f} [{t['min']:.2f}–{t['max']:.2f}] | {sk['rss_mb']:.0f} |"
            )
        lines.append("")
    if s["pipelines"]:
        lines += [
            "### 5. Pipelines (whole process, wall time)",
            "",
            "| command | seconds, median [min–max] |",
            "|---|---|",
        ]
        names = {
            "version": "`backprop --version`",
            "predict-10": "`backprop predict RUN -` on 10 CSV rows",
            "predict-10000": "`backprop predict RUN -` on 10,000 CSV rows",
        }
        for impl, r in s["pipelines"].items():
            t = r["wall_s"]
            lines.append(f"| {names.get(impl, impl)} | {t['median']:.3f} [{t['min']:.3f}–{t['max']:.3f}] |")
        lines.append("")
    lines += _targets_table(
        "Targets: CNN, char LSTM, GRU and transformer against PyTorch (2 threads each)",
        s.get("targets_two_threads", []),
    )
    lines += _targets_table("Targets (issue 14)", s.get("targets_14", []))
    lines += ["### Targets (issue 6)", "", "| target | measured | met |", "|---|---|---|"]
    for t in s["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {_f(t['value'], '{:.3f}')} | {met} |")
    return "\n".join(lines) + "\n"
