"""The optimizer contract: one update rule inside a base that owns the step counter, the slots and the state.

A subclass names its per-parameter slots (`slot_names`, e.g. ("m", "v"): saved in checkpoints) and its
work buffers (`scratch_names`, e.g. ("tmp",): never saved), and writes `update`. The base allocates
both lazily with each parameter's shape and dtype (slots as zeros, once; scratch once, never per
step), counts the steps, and saves and restores everything exactly, so a resumed run continues bit
for bit.

Speed: the trainer usually passes ONE flat buffer of all parameters and one of all gradients, so an
update rule runs over one large array. Rules use `out=` arithmetic into their scratch buffers and
cast every hyperparameter to the parameter's dtype (`cast`), so float32 never upcasts to float64.
Every rule is elementwise, so the base may cut a large array into `threads` chunks and update them
in parallel (NumPy releases the GIL): the result is bit-identical to one pass.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from backprop_cli.errors import CheckpointError
from backprop_cli.optim.fused import kernel

Slots = dict[str, np.ndarray]

MIN_CHUNK = 1 << 16  # elements per thread below which a thread costs more than it saves


class Optimizer:
    """Base of every optimizer: for each (param, grad) pair, update(param, grad, slots, lr) in place."""

    slot_names: tuple[str, ...] = ()  # per-parameter state, zeros at the start, saved as "<name>.<i>"
    fused_kernel: str | None = None  # the kernel in optim/fused.py that `update` calls when it can run
    scratch_names: tuple[str, ...] = ()  # per-parameter work buffers, garbage on entry, never saved

    def __init__(self) -> None:
        self.t = 0  # steps taken; update() sees the count including the current step (1 on the first)
        self.slots: list[Slots] = []  # slots[i][name] belongs to params[i]
        self.threads = 1  # set > 1 to split large arrays across a thread pool (the trainer's --threads)
        self._scratch: list[Slots] = []
        self._restored = False  # slots came from a checkpoint: a mismatch is then the checkpoint's fault
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        """Take one step: t += 1, then update every (param, grad) pair in place."""
        self._bind(params, grads)
        self.t += 1
        for i, (param, grad) in enumerate(zip(params, grads)):
            slots = {**self.slots[i], **self._scratch[i]}
            fused = self._kernel_for(param, grad, slots) is not None
            if self.threads > 1 and param.size >= 2 * MIN_CHUNK and param.flags.c_contiguous and not fused:
                self._update_in_chunks(param, grad, slots, lr)
            else:  # a fused kernel is one pass here: that beats a hand-off to threads (bench/README.md)
                self.update(param, grad, slots, lr)

    def update(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        """The rule: change `param` and the slots in place from `grad`; `self.t` is this step's number."""
        raise NotImplementedError

    def explain(self) -> list[str]:
        """The update rule with this optimizer's hyperparameters, for `backprop explain` (g: the gradient)."""
        raise NotImplementedError

    def _kernel_for(self, param: np.ndarray, grad: np.ndarray, slots: Slots):
        """This rule's compiled kernel if it can run on these arrays (optim/fused.py), else None."""
        if self.fused_kernel is None:
            return None
        return kernel(self.fused_kernel, param, grad, *(slots[name] for name in self.slot_names))

    def run_fused(self, param: np.ndarray, grad: np.ndarray, slots: Slots, *scalars) -> bool:
        """Do the update as one compiled pass when a kernel can run: the NumPy rule's arithmetic in the same
        order, so the same bits. False when the caller must run its NumPy rule."""
        fused = self._kernel_for(param, grad, slots)
        if fused is None:
            return False
        fused(param, grad, *(slots[name] for name in self.slot_names), *scalars)
        return True

    @staticmethod
    def cast(param: np.ndarray, *values: float) -> tuple:
        """Hyperparameters as scalars of the parameter's dtype: keeps float32 arithmetic in float32."""
        return tuple(param.dtype.type(v) for v in values)

    # --- state ---------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """{"t": int64 0-d array, "<slot>.<param index>": a copy of the slot} — what a checkpoint stores."""
        state = {"t": np.array(self.t, dtype=np.int64)}
        for i, slots in enumerate(self.slots):
            for name in self.slot_names:
                state[f"{name}.{i}"] = slots[name].copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore exactly what `state_dict` returned; a missing, extra or misshapen key is a CheckpointError."""
        t = _load_t(state)
        n = self._count_slots(state)
        if self.slots and len(self.slots) != n:
            raise _state_error(f"the optimizer state covers {n} parameter arrays, this optimizer {len(self.slots)}")
        slots = [{name: self._load_slot(state, name, i) for name in self.slot_names} for i in range(n)]
        self.t, self.slots, self._restored = t, slots, True

    def _count_slots(self, state: dict[str, np.ndarray]) -> int:
        """How many parameters the state covers: every slot name must come with the indices 0..n-1."""
        first = f"{self.slot_names[0]}." if self.slot_names else None
        n = sum(1 for key in state if first and key.startswith(first))
        expected = {"t"} | {f"{name}.{i}" for name in self.slot_names for i in range(n)}
        unexpected, missing = sorted(set(state) - expected), sorted(expected - set(state))
        if unexpected or missing:
            key = (unexpected or missing)[0]
            kind = "unexpected" if unexpected else "missing"
            raise _state_error(f"{kind} optimizer state {key!r} for {type(self).__name__}", key)
        return n

    def _load_slot(self, state: dict[str, np.ndarray], name: str, i: int) -> np.ndarray:
        array = np.asarray(state[f"{name}.{i}"])
        if self.slots:  # already bound to parameters: the checkpoint must fit them
            _check_fits(f"{name}.{i}", array, self.slots[i][name], restored=True)
        return np.array(array, copy=True, order="C")  # own, writable memory (safetensors gives read-only)

    # --- binding to the parameters -------------------------------------------------------------------

    def _bind(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Make slots on the first step; afterwards check that the arrays still fit them."""
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradient arrays")
        for i, (param, grad) in enumerate(zip(params, grads)):
            if grad.shape != param.shape or grad.dtype != param.dtype:
                raise ValueError(f"parameter {i} is {param.dtype}{param.shape}, its gradient {grad.dtype}{grad.shape}")
        if not self.slots:  # the first step (or a state saved before one): zeros like each parameter
            self.slots = [{name: np.zeros_like(p, order="C") for name in self.slot_names} for p in params]
        if len(self.slots) != len(params):
            what = f"the optimizer state covers {len(self.slots)} parameter arrays, step() got {len(params)}"
            raise _state_error(what) if self._restored else ValueError(what)
        for i, param in enumerate(params):
            for name, slot in self.slots[i].items():
                _check_fits(f"{name}.{i}", slot, param, self._restored)
        self._make_scratch(params)

    def _make_scratch(self, params: list[np.ndarray]) -> None:
        """Work buffers like each parameter: allocated on the first step, again only if the shapes change."""
        fits = len(self._scratch) == len(params) and all(
            buf.shape == p.shape and buf.dtype == p.dtype
            for bufs, p in zip(self._scratch, params)
            for buf in bufs.values()
        )
        if not fits:
            self._scratch = [{name: np.empty_like(p, order="C") for name in self.scratch_names} for p in params]

    def _update_in_chunks(self, param: np.ndarray, grad: np.ndarray, slots: Slots, lr: float) -> None:
        """The same elementwise rule on `threads` disjoint slices of the flattened arrays, in parallel."""
        if self._pool is None or self._pool_size != self.threads:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="backprop-optim")
            self._pool_size = self.threads
        n = param.size
        parts = min(self.threads, n // MIN_CHUNK)
        bounds = [n * k // parts for k in range(parts + 1)]
        flat = {name: a.reshape(-1) for name, a in slots.items()}
        p, g = param.reshape(-1), grad.reshape(-1)  # p is a view: the caller checked it is contiguous
        jobs = [
            self._pool.submit(self.update, p[a:b], g[a:b], {k: s[a:b] for k, s in flat.items()}, lr)
            for a, b in zip(bounds, bounds[1:])
        ]
        for job in jobs:
            job.result()  # re-raises a worker's exception here


def _load_t(state: dict[str, np.ndarray]) -> int:
    if "t" not in state:
        raise _state_error("the optimizer state has no step count 't'", "t")
    t = np.asarray(state["t"])
    if t.shape not in ((), (1,)) or t.dtype.kind not in "iu":
        raise _state_error(f"optimizer state 't' is {t.dtype} of shape {t.shape}, expected an integer of shape ()", "t")
    return int(t.reshape(()))


def _check_fits(key: str, slot: np.ndarray, param: np.ndarray, restored: bool) -> None:
    """A slot (from a checkpoint, or made on the first step) must have its parameter's shape and dtype."""
    if slot.shape == param.shape and slot.dtype == param.dtype:
        return
    what = (
        f"optimizer state {key!r} has shape {slot.shape} but its parameter has shape {param.shape}"
        if slot.shape != param.shape
        else f"optimizer state {key!r} is {slot.dtype} but its parameter is {param.dtype}"
    )
    raise _state_error(what, key) if restored else ValueError(what)


def _state_error(what: str, key: str | None = None) -> CheckpointError:
    return CheckpointError(
        what,
        where="optimizer" if key is None else f"optimizer.{key}",
        fix="resume with the model, optimizer type and training.dtype the checkpoint was written with",
    )
