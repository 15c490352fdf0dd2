"""Adam step time on one flat float32 buffer the size of a 784-512-256-10 MLP (not a test: run it).

    python tests/optim/bench_adam.py

"before" is the textbook rule (a fresh 2 MB temporary per operation). Its time depends
on glibc's allocator: in a fresh process every temporary is mapped and unmapped again (page faults,
~8 ms/step here); once a larger block has been freed, malloc raises its mmap/trim thresholds and
keeps the memory (~1.1 ms/step). Both are shown. "after" is optim.adam.Adam (out= arithmetic into
one preallocated scratch buffer, folded bias corrections), on one thread and split across two.
"""

from __future__ import annotations

import math
import time

import numpy as np

from backprop_cli.optim.adam import Adam

N_PARAMS = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10  # 535,818


class TextbookAdam(Adam):
    def update(self, param, grad, slots, lr):
        b1, b2, t = self.beta1, self.beta2, self.t
        slots["m"] += (1 - b1) * (grad - slots["m"])
        slots["v"] += (1 - b2) * (grad * grad - slots["v"])
        denom = np.sqrt(slots["v"]) / math.sqrt(1 - b2**t) + self.eps
        param -= (lr / (1 - b1**t)) * slots["m"] / denom


def microseconds_per_step(opt: Adam, steps: int = 200, repeats: int = 7) -> float:
    rng = np.random.default_rng(0)
    p = rng.standard_normal(N_PARAMS, dtype=np.float32)
    g = rng.standard_normal(N_PARAMS, dtype=np.float32) * np.float32(1e-2)
    for _ in range(10):  # warm up: slots, scratch, thread pool
        opt.step([p], [g], 1e-3)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            opt.step([p], [g], 1e-3)
        best = min(best, (time.perf_counter() - start) / steps)
    assert p.dtype == np.float32
    return best * 1e6


def main() -> None:
    threaded = Adam()
    threaded.threads = 2
    print(f"Adam on {N_PARAMS:,} float32 parameters, best of 7 x 200 steps:")
    report("before, fresh allocator", TextbookAdam())
    np.ones(4 * N_PARAMS)  # allocating and freeing a large block raises malloc's mmap and trim thresholds
    report("before, warm allocator", TextbookAdam())
    report("after, 1 thread", Adam())
    report("after, 2 threads", threaded)


def report(label: str, opt: Adam) -> None:
    print(f"  {label:24s} {microseconds_per_step(opt):7.0f} us/step")


if __name__ == "__main__":
    main()
