"""The experiment config: every section of the YAML file as a strict pydantic model, defaults filled in."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, field_serializer, field_validator, model_validator

from backprop_cli.config.columns import ColumnSpec, MissingDefaults, column_shorthand, compact_columns
from backprop_cli.config.missing import NA_VALUES
from backprop_cli.config.names import RUN_NAME_PATTERN
from backprop_cli.config.spec import Spec
from backprop_cli.data.augment import AugmentSpec
from backprop_cli.nn.registry import layer_spec_union
from backprop_cli.optim.specs import PLATEAU_MONITORS, AdamSpec, ConstantSpec, OptimizerSpec, ScheduleSpec

LayerSpec = layer_spec_union()

# The built-in datasets (data/builtin.py holds the same table; a test keeps them equal).
DATASET_NAMES = (
    "mnist",
    "fashion_mnist",
    "digits",
    "iris",
    "xor",
    "spirals",
    "moons",
    "circles",
    "blobs",
    "sine",
    "shakespeare",
    "additions",
    "adding",
    "frequencies",
)
LOSS_NAMES = ("cross_entropy", "binary_cross_entropy", "mse", "mae", "huber")
MONITORS = PLATEAU_MONITORS  # early stopping watches what the plateau schedule may watch


class DataConfig(Spec):
    dataset: Literal[DATASET_NAMES] | None = None  # type: ignore[valid-type]  # a built-in (`backprop data list`)
    path: str | None = None  # the user's own file: .csv, .npz or .npy
    target: str | None = None  # CSV: the target column's name; .npy: the labels file
    features: list[str] | None = None  # CSV: feature columns (default: every column but the target)
    test_path: str | None = None  # a held-out file scored after training (same columns or arrays)
    task: Literal["auto", "classification", "regression"] = "auto"  # auto: text or a few integers are classes
    data_dir: str | None = None  # where mnist & co. live; BACKPROP_DATA_DIR wins over it
    validation_split: float = Field(0.1, ge=0, lt=1)  # fraction of the training data held out (0: none)
    scale: Literal["standard", "minmax", "none"] = "standard"  # fitted on the training split, kept in the checkpoint
    scale_target: bool = True  # regression: train on standardized targets, report in original units
    n_samples: int | None = Field(None, ge=4, le=10_000_000)  # synthetic datasets
    noise: float | None = Field(None, ge=0, le=100)  # synthetic datasets: the noise level
    classes: int | None = Field(None, ge=2, le=1000)  # synthetic datasets with K classes (spirals, blobs, ...)
    format: Literal["auto", "text"] = "auto"  # text: a UTF-8 file read as characters (data/text.py)
    context: int | None = Field(None, gt=0, le=65536)  # text: characters per example
    stride: int | None = Field(None, gt=0, le=65536)  # text: between window starts (default: context)
    digits: int | None = Field(None, ge=1, le=9)  # additions: operand digits (default 2)
    length: int | None = Field(None, ge=1, le=100_000)  # synthetic sequence datasets: steps per example
    folds: int | None = Field(None, ge=2, le=1000)  # cross-validation: K folds of the training data (`backprop cv`)
    fold: int | None = Field(None, ge=0, le=999)  # the fold held out as the test split
    columns: dict[str, ColumnSpec] | None = Field(None, max_length=100_000)  # name: type or {type, missing, ...}
    missing: MissingDefaults = MissingDefaults()  # strategies of the columns whose own `missing` is not given
    na_values: list[str] = Field(list(NA_VALUES), max_length=100)  # cells that mean "missing"
    weight_column: str | None = None  # a table column of row weights (non-negative, finite): not a feature
    augment: list[AugmentSpec] | None = Field(None, max_length=20)  # training batches only (data/augment.py)

    @field_validator("columns", mode="before")
    @classmethod
    def _column_shorthand(cls, value):
        return column_shorthand(value)

    @field_serializer("columns")
    def _compact_columns(self, columns):
        return compact_columns(columns)

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if (self.dataset is None) == (self.path is None):
            raise ValueError("give exactly one of `dataset` (a built-in) or `path` (your own file)")
        return self

    @model_validator(mode="after")
    def _tables_only(self) -> DataConfig:
        if self.dataset is not None and (self.columns is not None or self.weight_column is not None):
            raise ValueError(
                "`columns` and `weight_column` describe your own table (data.path), not a built-in dataset"
            )
        return self

    @model_validator(mode="after")
    def _fold_of_folds(self) -> DataConfig:
        if (self.folds is None) != (self.fold is None):
            raise ValueError("give both `folds` (K) and `fold` (0..K-1), or neither")
        if self.folds is not None and self.fold >= self.folds:
            raise ValueError(f"fold {self.fold} does not exist among {self.folds} folds (0..{self.folds - 1})")
        return self


ClassFactor = Annotated[float, Field(gt=0, le=1e6)]


class LossConfig(Spec):
    type: Literal[LOSS_NAMES] = "cross_entropy"  # type: ignore[valid-type]  # `loss: mse` is short for {type: mse}
    delta: float = Field(1.0, gt=0, le=1e6)  # huber: where the quadratic part ends
    class_weights: Literal["balanced"] | dict[str, ClassFactor] | None = None  # balanced, or {class name: factor}
    label_smoothing: float = Field(0.0, ge=0, lt=1)  # the cross-entropies: targets (1 − ε)·onehot + ε/K

    @model_validator(mode="after")
    def _class_keys_need_classes(self) -> LossConfig:
        if self.class_weights is not None and self.type not in ("cross_entropy", "binary_cross_entropy"):
            raise ValueError(f"class_weights weigh classes: {self.type} is a regression loss")
        if isinstance(self.class_weights, dict) and not self.class_weights:
            raise ValueError("class_weights maps class names to factors; give at least one, or `balanced`")
        if self.label_smoothing and self.type not in ("cross_entropy", "binary_cross_entropy"):
            raise ValueError(
                f"label_smoothing applies to class labels; {self.type} is a regression loss: remove label_smoothing, "
                "or use cross_entropy"
            )
        return self


class ModelConfig(Spec):
    layers: list[LayerSpec] = Field(min_length=1, max_length=1000)


class RegularizationConfig(Spec):
    l1: float = Field(0.0, ge=0, le=1e3)  # + l1 * sum|W| over the weights (not biases)
    l2: float = Field(0.0, ge=0, le=1e3)  # + l2/2 * sum W^2 over the weights (not biases)
    grad_clip_norm: float | None = Field(None, gt=0, le=1e12)  # rescale all gradients when their global norm is above
    grad_clip_value: float | None = Field(None, gt=0, le=1e12)  # clip each gradient entry to [-v, v]


class EarlyStoppingConfig(Spec):
    monitor: Literal[MONITORS] = "val_loss"  # type: ignore[valid-type]  # the metric that decides
    mode: Literal["auto", "min", "max"] = "auto"  # auto: max for accuracies and AUCs, min for losses
    patience: int = Field(5, ge=0, le=1_000_000)  # epochs without improvement before stopping
    min_delta: float = Field(0.0, ge=0, le=1e6)  # a smaller gain is no improvement
    restore_best: bool = True  # end with the best epoch's weights, not the last
    baseline: float | None = Field(None, ge=-1e12, le=1e12)  # improvements count only once past it
    start_from_epoch: int = Field(0, ge=0, le=1_000_000)  # epochs 1..start_from_epoch are not watched
    divergence_threshold: float | None = Field(None, ge=-1e12, le=1e12)  # worse than this: stop at once


class EmaConfig(Spec):
    """An exponential moving average of the weights: give `decay`, or `half_life_steps` (default decay 0.999)."""

    decay: float | None = Field(None, gt=0, lt=1)  # shadow <- decay·shadow + (1 − decay)·weights, each step
    half_life_steps: float | None = Field(None, gt=0, le=1e9)  # or: decay = 0.5^(1/half_life_steps)

    @model_validator(mode="after")
    def _one_rate(self) -> EmaConfig:
        if self.decay is not None and self.half_life_steps is not None:
            raise ValueError("give `decay` or `half_life_steps`, not both")
        if self.decay is None and self.half_life_steps is None:
            self.decay = 0.999
        return self


class TrainingConfig(Spec):
    epochs: int = Field(20, gt=0, le=1_000_000)  # passes over the training data
    batch_size: int = Field(128, gt=0, le=10_000_000)  # 1: pure SGD; >= the training size: full batch
    accumulate: int = Field(1, ge=1, le=100_000)  # micro-batches of batch_size per optimizer step
    dtype: Literal["float32", "float64"] = "float32"  # of parameters, activations and gradients
    threads: int | None = Field(None, gt=0, le=1024)  # BLAS threads; --threads wins over it
    early_stopping: EarlyStoppingConfig | None = None  # null: train every epoch
    ema: EmaConfig | None = None  # validation, the best checkpoint and the final weights use the average


class DiagnosticsConfig(Spec):
    monitor: bool = True  # per-layer gradient-flow statistics in metrics.jsonl
    monitor_every_n_steps: int | None = Field(None, gt=0, le=10_000_000)  # None: once per epoch
    warnings: bool = True  # vanishing/exploding gradients, dead units, symmetry, saturation
    exploding_grad_norm: float = Field(1000.0, gt=0)  # a global gradient norm above this warns
    histograms: bool = True  # z, y and dy histograms per layer at the monitor's samples: histograms.jsonl


class SnapshotEvery(Spec):
    every: int = Field(gt=0, le=1_000_000)  # keep the weights of every N-th epoch


def _snapshot_form(value) -> str:
    """Which of the three forms a value is written in, so that a mistake is named in that form alone."""
    return {dict: "every", list: "epochs"}.get(type(value), "word")


Snapshots = Annotated[
    Annotated[Literal["auto", "none"], Tag("word")]
    | Annotated[list[Annotated[int, Field(ge=0, le=1_000_000)]], Tag("epochs")]
    | Annotated[SnapshotEvery, Tag("every")],
    Discriminator(_snapshot_form),
]


class OutputConfig(Spec):
    runs_dir: str = "runs"  # where run directories are made; --runs-dir wins over it
    checkpoint_every: int = Field(1, gt=0, le=1_000_000)  # epochs between checkpoints/last.safetensors
    csv: bool = False  # metrics.csv beside metrics.jsonl (train/csv_log.py)
    tensorboard: bool = False  # TensorBoard event files in the run directory (needs tensorboardX)
    snapshots: Snapshots = "auto"  # weights kept at these epochs for `plot --view boundary`; auto: each, small 2-D data


class Config(Spec):
    name: str | None = Field(None, pattern=rf"^{RUN_NAME_PATTERN}$")  # run-name prefix; default: the file's stem
    seed: int = Field(0, ge=0, le=2**32 - 1)  # drives init, shuffling, dropout and the validation split
    data: DataConfig
    model: ModelConfig
    loss: LossConfig = LossConfig()
    optimizer: OptimizerSpec = AdamSpec(type="adam")
    schedule: ScheduleSpec = ConstantSpec(type="constant")
    regularization: RegularizationConfig = RegularizationConfig()
    training: TrainingConfig = TrainingConfig()
    diagnostics: DiagnosticsConfig = DiagnosticsConfig()
    output: OutputConfig = OutputConfig()

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_by_name(cls, value):
        return {"type": value} if isinstance(value, str) else value
