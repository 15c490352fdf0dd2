"""The peers on the same workloads: PyTorch (CPU) and scikit-learn's MLPClassifier."""

from __future__ import annotations

import time

from bench.common import load_digits_csv, load_mnist
from bench.workloads import DIGITS, MLPWorkload


def run_torch(w: MLPWorkload, epochs: int, threads: int, best: bool = False) -> dict:
    """A plain PyTorch loop over tensors already in memory (no DataLoader: that would only slow it).

    best=True: PyTorch's fastest CPU setting we know, a fused Adam and subnormals flushed to zero.
    Loss and accuracy are accumulated each step, as backprop's trainer does, without a sync per step.
    """
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if best:
        torch.set_flush_denormal(True)
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in load_mnist())
    sizes = w.layer_sizes()
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    if w.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=w.lr, **({"fused": True} if best else {}))
    else:
        opt = torch.optim.SGD(model.parameters(), lr=w.lr, momentum=w.momentum)
    loss_fn = nn.CrossEntropyLoss()
    n, times = len(x_train), []
    for _ in range(epochs):
        started = time.perf_counter()
        loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.int64)
        for idx in torch.randperm(n).split(w.batch):
            xb, yb = x_train[idx], y_train[idx]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(idx)
                correct += (out.argmax(1) == yb).sum()
        _ = float(loss_sum) / n, int(correct) / n
        times.append(time.perf_counter() - started)
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(1) == y_test).double().mean())
    return {
        "epoch_times": times,
        "test_accuracy": accuracy,
        "torch": torch.__version__,
        "dtype": str(next(model.parameters()).dtype),
    }


def run_sklearn(w: MLPWorkload, epochs: int, threads: int) -> dict:
    """MLPClassifier with the same sizes, optimizer and batch, alpha=0; its epoch time is fit / epochs."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x_train, y_train, x_test, y_test = load_mnist()
    solver = (
        {"solver": "adam"}
        if w.optimizer == "adam"
        else {"solver": "sgd", "momentum": w.momentum, "nesterovs_momentum": False, "learning_rate": "constant"}
    )
    clf = MLPClassifier(
        hidden_layer_sizes=w.hidden,
        activation="relu",
        alpha=0.0,
        batch_size=w.batch,
        learning_rate_init=w.lr,
        max_iter=epochs,
        shuffle=True,
        random_state=0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        **solver,
    )
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        clf.fit(x_train, y_train)
        fit_s = time.perf_counter() - started
        accuracy = float((clf.predict(x_test) == y_test).mean())
    import sklearn

    return {
        "epoch_times": [fit_s / clf.n_iter_] * clf.n_iter_,
        "fit_s": fit_s,
        "test_accuracy": accuracy,
        "sklearn": sklearn.__version__,
        "dtype": str(clf.coefs_[0].dtype),
    }


def run_sklearn_digits(threads: int) -> dict:
    """Workload 4's peer: scikit-learn's fit of the same digits MLP (its wall time, in process)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x, y = load_digits_csv()
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / (std + (std == 0))  # standardized, as backprop's default `scale: standard`
    clf = MLPClassifier(
        hidden_layer_sizes=DIGITS["hidden"],
        alpha=0.0,
        batch_size=DIGITS["batch"],
        learning_rate_init=DIGITS["lr"],
        max_iter=DIGITS["epochs"],
        random_state=0,
        tol=0.0,
        n_iter_no_change=DIGITS["epochs"] + 1,
    )
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        clf.fit(x, y)
        fit_s = time.perf_counter() - started
    return {"fit_s": fit_s, "train_accuracy": float((clf.predict(x) == y).mean())}
