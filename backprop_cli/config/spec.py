"""The base of every config model: the sections of the config, each layer's keys, optimizers, schedules.

On the config floor, below the layers and the optimizers that keep their own specs beside them.
`defer_build`: a model's validator is made on its first use, so that importing a layer (predict builds
its model from a checkpoint's resolved config, without validation) costs no schema building.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Strict: no type coercion, no unknown keys, no NaN or inf."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, defer_build=True)
