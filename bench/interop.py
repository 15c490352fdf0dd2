"""Figures for the README's export/import section: ONNX against `backprop predict`, PyTorch against import-weights.

    python -m bench.interop        # ~1 min on two busy cores; needs onnx, onnxruntime and (for the import) torch

It trains the networks of tests/interop (the same configs and PyTorch nets, reused, not copied) on the
bundled digits with a fixed test split of 297 images, and prints one line per network.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from tests.interop.conftest import CNN, MLP
from tests.interop.helpers import backprop, eval_json, ok, predict_npy, train_run, write_digits_npz


def onnx_against_predict(tmp: Path, path: Path, arrays) -> None:
    import onnx
    import onnxruntime as ort

    for name, config in (("mlp", MLP), ("cnn", CNN)):
        run = train_run(tmp, name, config.format(data=path))
        started = time.perf_counter()
        exported = ok(backprop("export", run, "--proba"))
        wall = time.perf_counter() - started
        session = ort.InferenceSession(exported, providers=["CPUExecutionProvider"])
        p = session.run(None, {"input": arrays["x_test"].astype(np.float32)})[0]
        q = predict_npy(run, arrays["x_test"], tmp, "--proba")
        print(f"onnx {name}: {len(onnx.load(exported).graph.node)} nodes, export {wall:.2f} s wall, "
              f"max |onnx - predict --proba| = {np.abs(p - q).max():.2e}, same labels: "
              f"{np.array_equal(p.argmax(1), q.argmax(1))}, n = {len(p)}")  # fmt: skip


def sequences_against_predict(tmp: Path) -> None:
    """configs/adding-lstm, bumps-gru, bumps-conv1d trained one epoch: ONNX against predict on raw rows."""
    import onnxruntime as ort

    from backprop_cli.data import FeatureRows, load_data
    from backprop_cli.inference import load_trained, predict_rows

    configs = Path(__file__).resolve().parents[1] / "configs"
    for name in ("adding-lstm", "bumps-gru", "bumps-conv1d"):
        run = ok(backprop("train", configs / f"{name}.yaml", "--set", "training.epochs=1", "--quiet", "--runs-dir",
                          tmp / "runs", "--threads", "1"))  # fmt: skip
        exported = ok(backprop("export", run, "-o", tmp / f"{name}.onnx"))
        trained = load_trained(run)
        if name.startswith("bumps"):
            x = np.load(configs / "bumps.npz")["x"][:300].astype(np.float64)  # raw rows, as the file holds them
        else:  # the adding task is generated and not scaled (scale: none): its validation rows are raw rows
            x = load_data(trained.config.data, trained.config.seed, trained.dtype, meta=trained.data_meta).x_val
        out = ort.InferenceSession(exported, providers=["CPUExecutionProvider"]).run(
            None, {"input": x.astype(np.float32)}
        )[0]
        expected = predict_rows(trained, FeatureRows(x, None, name), proba=True)
        if "labels" in expected:  # logits out: compare the labels, and the softmax of the logits
            z = np.exp(out - out.max(axis=1, keepdims=True))
            diff = np.abs(z / z.sum(axis=1, keepdims=True) - expected["probabilities"]).max()
        else:
            diff = np.abs(out - expected["values"]).max()
        print(f"onnx {name}: max |onnx - predict| = {diff:.2e} on {x.shape} raw rows")


def torch_against_import(tmp: Path, path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    import tests.interop.test_import_weights as nets
    from backprop_cli.config.load import load_config
    from backprop_cli.inference import load_trained
    from backprop_cli.train.setup import build_parts

    torch.set_num_threads(1)
    for name, layers, make, pairs in (("mlp", nets.MLP, nets.torch_mlp, nets.MLP_PAIRS),
                                      ("cnn", nets.CNN, nets.torch_cnn, nets.CNN_PAIRS)):  # fmt: skip
        torch.manual_seed(0)
        net, folder = make(), tmp / f"torch-{name}"
        folder.mkdir()
        config = nets.write_config(folder, path, layers)
        data = build_parts(load_config(config).config).data
        accuracy = nets.train_torch(net, data)
        save_file(net.state_dict(), folder / "w.safetensors")
        ok(backprop("import-weights", config, folder / "w.safetensors", "-o", folder / "run"))
        ours = eval_json(folder / "run")["accuracy"]
        trained, x, y = load_trained(folder / "run"), data.x_train[:64], data.y_train[:64]
        trained.loss.forward(trained.model.forward(x, training=True), y)
        trained.model.backward(trained.loss.backward())
        grads = {n: g for n, _, g in trained.model.named_params()}
        net.train()
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        theirs = dict(net.named_parameters())
        worst = 0.0
        for ours_name, torch_name, transposed in pairs:
            if ours_name == "0.b":
                continue  # a bias before batchnorm: zero gradient in exact arithmetic, float32 noise here
            g = theirs[torch_name].grad.numpy()
            g = g.T if transposed else g
            worst = max(worst, float(np.abs(grads[ours_name] - g).max() / np.abs(g).max()))
        print(f"import {name}: PyTorch test accuracy {accuracy:.4f}, backprop eval {ours:.4f}, "
              f"largest gradient difference {worst:.1e} of the tensor's largest gradient")  # fmt: skip


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="interop-"))
    path = write_digits_npz(tmp / "digits.npz")
    onnx_against_predict(tmp, path, np.load(path))
    sequences_against_predict(tmp)
    torch_against_import(tmp, path)


if __name__ == "__main__":
    main()
