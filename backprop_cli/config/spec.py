"""The base of every config model: the sections of the config, each layer's keys, optimizers, schedules.

On the config floor, below the layers and the optimizers that keep their own specs beside them.
Each model's validator and serializer are built with its class (no `defer_build`): a spec made without
validation (a checkpoint's resolved config, `model_construct`) or by a parent's validator is then dumped
the same way in any order; deferred, pydantic met a placeholder where the serializer should be
("'MockValSer' object is not an instance of 'SchemaSerializer'").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Strict: no type coercion, no unknown keys, no NaN or inf."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
