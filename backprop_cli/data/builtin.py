"""The built-in datasets: one table, name -> entry. config_schema.DATASET_NAMES lists the same names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backprop_cli.data import bundled, mnist, synthetic
from backprop_cli.data.dataset import RawData
from backprop_cli.data.hints import did_you_mean
from backprop_cli.data.remote import RemoteFile
from backprop_cli.data.rng import data_rng
from backprop_cli.errors import DataError
from backprop_cli.limits import check_generated

SYNTHETIC_OPTIONS = ("n_samples", "noise", "classes", "length")
MAX_SEQUENCE_VALUES = 50_000_000  # per channel: 400 MB of float64 while generating
COPIES_WHILE_LOADING = 4  # generated in float64, split, scaled, cast: the copies that coexist at worst


@dataclass(frozen=True)
class BuiltinDataset:
    name: str
    kind: str  # "synthetic" (generated from the seed) | "bundled" (in the package) | "download"
    task: str
    description: str
    input_shape: tuple[int, ...]
    n_classes: int | None  # the default; spirals and blobs take data.classes
    load: Callable[..., RawData]  # load(cfg: DataConfig, seed) -> RawData
    options: tuple[str, ...] = ()  # which of data.n_samples / noise / classes apply
    files: tuple[RemoteFile, ...] = ()  # download: each file and its checksum
    mirrors: tuple[str, ...] = ()  # download: base URLs holding the files
    bundled: tuple[tuple[str, str], ...] = ()  # bundled: (file name, sha256)
    source: str = ""
    license: str = ""


def _synthetic(
    name: str, generate, task: str, n: int, noise: float, classes: int | None, values: int
) -> Callable[..., RawData]:
    """`values`: numbers per example, its target included (x and y of every example are generated at once)."""

    def load(cfg, seed: int) -> RawData:
        k = cfg.classes or classes or 2
        size = cfg.n_samples or n
        check_generated(size * values * 8 * COPIES_WHILE_LOADING, f"{size:,} examples of {name}", "data.n_samples",
                        "lower data.n_samples")  # fmt: skip
        if task == "classification" and size < 2 * k:
            raise DataError(
                f"{size} samples cannot make {k} classes of at least 2",
                where="data.n_samples",
                fix=f"set data.n_samples to at least {2 * k}",
            )
        x, y = generate(size, noise if cfg.noise is None else cfg.noise, k, data_rng(seed, "generate"))
        names = [f"x{j}" for j in range(x.shape[1])] if x.shape[1] > 1 else ["x"]
        if task == "regression":
            return RawData(x, y, task, name, feature_names=names, target_names=["y"])
        return RawData(x, y, task, name, class_names=[str(c) for c in range(k)], feature_names=names)

    return load


def _synth(name, generate, task, description, n, noise, classes=None, options=("n_samples", "noise")):
    n_classes = None if task == "regression" else classes or 2
    shape = (1,) if task == "regression" else (2,)
    loader = _synthetic(name, generate, task, n, noise, classes, shape[0] + 1)
    return BuiltinDataset(
        name,
        "synthetic",
        task,
        description,
        shape,
        n_classes,
        loader,
        options,
        source="generated from the seed",
        license="-",
    )


def _text_only(cfg, seed: int) -> RawData:
    """Text datasets are characters, read by data/text.py (load_data branches before load_raw)."""
    raise DataError(f"{cfg.dataset} is text: load it with load_data", where="data.dataset")


def _sequences(name, generate, task, description, n, noise, length, classes=None, options=("n_samples", "length")):
    """A synthetic sequence task: x (N, C, L) with L = data.length (default `length`)."""
    channels = 2 if name == "adding" else 1  # adding: the values and the marks

    def load(cfg, seed: int) -> RawData:
        steps, size = cfg.length or length, cfg.n_samples or n
        if size * steps > MAX_SEQUENCE_VALUES:  # generated in float64: refuse before allocating
            raise DataError(
                f"{size} sequences of {steps} steps are {size * steps:,} values per channel, more than "
                f"{MAX_SEQUENCE_VALUES:,}",
                where="data.n_samples",
                fix="lower data.n_samples or data.length",
            )
        values = channels * steps + 1
        inner = _synthetic(name, lambda size, nz, k, rng: generate(size, nz, k, rng, steps), task, n, noise, classes,
                           values)  # fmt: skip
        raw = inner(cfg, seed)
        raw.feature_names = None  # (C, L) values, not named columns
        return raw

    shape = (channels, length)
    n_classes = None if task == "regression" else classes
    return BuiltinDataset(
        name, "synthetic", task, description, shape, n_classes, load, options,
        source="generated from the seed", license="-",
    )  # fmt: skip


_UCI = "UCI Machine Learning Repository, CC BY 4.0"
DATASETS: dict[str, BuiltinDataset] = {
    "mnist": BuiltinDataset(
        "mnist", "download", "classification", "handwritten digits, 28x28 grayscale, 60000 train / 10000 test",
        (1, 28, 28), 10, mnist.load_mnist, files=mnist.MNIST_FILES, mirrors=mnist.MNIST_MIRRORS,
        source="Y. LeCun, C. Cortes, C. Burges: the MNIST database", license="CC BY-SA 3.0"),
    "fashion_mnist": BuiltinDataset(
        "fashion_mnist", "download", "classification", "Zalando article images, 28x28 grayscale, 60000 / 10000",
        (1, 28, 28), 10, mnist.load_fashion_mnist, files=mnist.FASHION_FILES, mirrors=mnist.FASHION_MIRRORS,
        source="H. Xiao, K. Rasul, R. Vollgraf: Fashion-MNIST (Zalando Research)", license="MIT"),
    "digits": BuiltinDataset(
        "digits", "bundled", "classification", "UCI handwritten digits, 8x8 pixels 0..16, 1797 images",
        (1, 8, 8), 10, bundled.load_digits,
        bundled=(("digits.csv", "ba6ee5aa91a99912e5e4e601339a3d45bb1c136a5df153daf68d7a8e45a04ce5"),),
        source="Optical Recognition of Handwritten Digits (Alpaydin, Kaynak), test part", license=_UCI),
    "iris": BuiltinDataset(
        "iris", "bundled", "classification", "Fisher's iris: 4 measurements, 3 species of 50",
        (4,), 3, bundled.load_iris,
        bundled=(("iris.csv", "17e9e19553ed7fa1ebb8b5b4d9d3536da813ebacaf446aff895742dff04087c3"),),
        source="Iris (R. A. Fisher, 1936)", license=_UCI),
    "xor": _synth("xor", synthetic.xor, "classification", "four noisy corners, label = sign(x0) != sign(x1)",
                  400, 0.15),
    "spirals": _synth("spirals", synthetic.spirals, "classification", "interleaved spiral arms (data.classes)",
                      600, 0.2, classes=3, options=SYNTHETIC_OPTIONS),
    "moons": _synth("moons", synthetic.moons, "classification", "two interleaving half circles", 400, 0.1),
    "circles": _synth("circles", synthetic.circles, "classification", "a ring around a smaller ring", 400, 0.05),
    "blobs": _synth("blobs", synthetic.blobs, "classification", "Gaussian clusters (data.classes)",
                    600, 1.0, classes=3, options=SYNTHETIC_OPTIONS),
    "sine": _synth("sine", synthetic.sine, "regression", "y = sin(x) + noise, x in [-pi, pi]", 400, 0.1),
    "shakespeare": BuiltinDataset(
        "shakespeare", "bundled", "classification", "200 KB of Shakespeare's plays: characters (data.context)",
        (), 62, _text_only,
        bundled=(("shakespeare.txt", "d48b8b09f2897bd9046088795c8ba6060e7a4394a2f1e58a562a4cea0a0a74dc"),),
        source="W. Shakespeare, via A. Karpathy's tinyshakespeare (char-rnn), first 199,994 bytes",
        license="public domain"),
    "additions": BuiltinDataset(
        "additions", "synthetic", "classification", 'sums as text, "37+48=85" (data.digits, data.context)',
        (), 13, _text_only, ("n_samples", "digits"), source="generated from the seed", license="-"),
    "adding": _sequences("adding", synthetic.adding, "regression",
                         "the adding problem: sum the 2 marked of L values (data.length, default 50)", 10000, 0.0, 50),
    "frequencies": _sequences("frequencies", synthetic.frequencies, "classification",
                              "which of K frequencies a noisy sine carries, (1, L) (data.classes, data.length)",
                              4000, 0.5, 64, classes=4, options=SYNTHETIC_OPTIONS),
}  # fmt: skip


def lookup(name: str) -> BuiltinDataset:
    """The entry for `name`; a miss is the user's error, with a suggestion."""
    if name in DATASETS:
        return DATASETS[name]
    raise DataError(f"unknown dataset {name!r}", fix=did_you_mean(name, DATASETS))


def check_options(cfg, entry: BuiltinDataset) -> None:
    """Options that do not apply to this dataset are errors, not silently ignored."""
    for key in SYNTHETIC_OPTIONS:
        if getattr(cfg, key) is not None and key not in entry.options:
            applies = [n for n, e in DATASETS.items() if key in e.options]
            raise DataError(
                f"{entry.name} takes no {key}",
                where=f"data.{key}",
                fix=f"remove it; it applies to {', '.join(applies)}",
            )
    text = entry.name in ("shakespeare", "additions")  # data/text.py TEXT_DATASETS
    for key in ("context", "stride", "digits"):
        if getattr(cfg, key, None) is not None and not (text and (key != "digits" or entry.name == "additions")):
            raise DataError(f"{entry.name} takes no {key}", where=f"data.{key}", fix="remove it")
    for key in ("target", "features", "test_path"):
        if getattr(cfg, key) is not None:
            raise DataError(
                f"{key} applies to your own files (data.path), not to {entry.name}",
                where=f"data.{key}",
                fix="remove it",
            )
    if cfg.task not in ("auto", entry.task):
        raise DataError(f"{entry.name} is a {entry.task} dataset", where="data.task", fix="remove data.task")
    if getattr(cfg, "format", "auto") != "auto":
        raise DataError("format applies to your own files (data.path)", where="data.format", fix="remove it")
