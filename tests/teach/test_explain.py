"""`backprop explain`: shapes, FLOPs and memory against counts made by hand; parameter bytes against a checkpoint."""

from __future__ import annotations

import json

from safetensors.numpy import load_file

from backprop_cli.teach.explain import explain_network

from .conftest import backprop, config_of, err, out, write_config

F32, I64 = 4, 8  # bytes of a float32 and of the int64 labels/row indices the loss keeps


def test_an_mlp_matches_shapes_flops_and_memory_counted_by_hand(mlp_config):
    r = explain_network(config_of(mlp_config))
    n = 16
    flatten, hidden, out_ = r["layers"]
    assert r["batch"] == n and r["input_shape"] == [n, 1, 8, 8]
    assert (flatten["input_shape"], flatten["output_shape"]) == ([n, 1, 8, 8], [n, 64])
    assert (hidden["input_shape"], hidden["output_shape"], hidden["params"]) == (
        [n, 64],
        [n, 32],
        {"W": [64, 32], "b": [32]},
    )
    assert (out_["input_shape"], out_["output_shape"]) == ([n, 32], [n, 10])
    # forward: matmul 2·N·in·out, bias N·out, relu N·out; backward: relu, dW, db, and dx except for the first
    # layer that trains (the data needs no gradient)
    assert flatten["flops"] == {"forward": 0, "backward": 0}
    assert hidden["flops"] == {
        "forward": 2 * n * 64 * 32 + n * 32 + n * 32,
        "backward": n * 32 + 2 * n * 64 * 32 + n * 32,
    }
    assert out_["flops"] == {
        "forward": 2 * n * 32 * 10 + n * 10,
        "backward": 2 * n * 32 * 10 + n * 10 + 2 * n * 32 * 10,
    }
    # kept for backward: the first dense keeps its input (the batch) and relu's mask (1 byte per unit); the
    # second keeps its input, relu's output; the loss its probabilities, labels and row indices
    assert hidden["kept_bytes"] == n * 64 * F32 + n * 32
    assert out_["kept_bytes"] == n * 32 * F32
    assert flatten["kept_bytes"] == 0
    assert r["loss"]["kept_bytes"] == n * 10 * F32 + n * I64 + n * I64
    t = r["totals"]
    assert t["param_count"] == 64 * 32 + 32 + 32 * 10 + 10
    assert t["param_bytes"] == t["grad_bytes"] == t["param_count"] * F32
    assert t["activation_bytes"] == n * 64 * F32 + n * 32 + n * 32 * F32 + r["loss"]["kept_bytes"]
    assert t["flops_step"] == sum(row["flops"]["forward"] + row["flops"]["backward"] for row in r["layers"])
    assert (
        t["step_bytes"]
        == 2 * t["param_bytes"] + t["optimizer_state_bytes"] + t["optimizer_work_bytes"] + t["activation_bytes"]
    )


def test_a_cnn_matches_shapes_flops_and_memory_counted_by_hand(cnn_config):
    r = explain_network(config_of(cnn_config))
    n, f, c, k, o = 8, 4, 1, 3, 6  # batch, filters, channels, kernel, output side
    conv, pool, flatten, dense = r["layers"]
    assert (conv["input_shape"], conv["output_shape"], conv["params"]) == (
        [n, 1, 8, 8], [n, 4, 6, 6], {"W": [4, 1, 3, 3], "b": [4]})  # fmt: skip
    assert (pool["output_shape"], flatten["output_shape"], dense["input_shape"]) == ([n, 4, 3, 3], [n, 36], [n, 36])
    outputs = n * f * o * o
    matmul = 2 * outputs * c * k * k
    assert conv["flops"] == {"forward": matmul + outputs + outputs, "backward": outputs + matmul + outputs}
    windows = n * f * 3 * 3
    assert pool["flops"] == {"forward": (4 - 1) * windows, "backward": windows}  # compare; route dy to the argmax
    assert dense["flops"] == {
        "forward": 2 * n * 36 * 10 + n * 10,
        "backward": 2 * n * 36 * 10 + n * 10 + 2 * n * 36 * 10,
    }
    assert (conv["kept_bytes"], pool["kept_bytes"]) == _conv_and_pool_kept(n, f, c, k, o, windows)
    assert flatten["kept_bytes"] == 0 and dense["kept_bytes"] == windows * F32  # its input: pooling's output
    assert r["totals"]["param_bytes"] == (4 * 9 + 4 + 36 * 10 + 10) * F32


def _conv_and_pool_kept(n, f, c, k, o, windows) -> tuple[int, int]:
    """Bytes conv2d(relu) and maxpool keep for backward, counted by hand for the implementation that runs."""
    from backprop_cli.nn.conv import conv2d as conv_module

    outputs, cols = n * f * o * o, c * k * k * o * o * n * F32  # cols: every window as a column (C·k², OH·OW·N)
    if not hasattr(conv_module, "BLOCK_BYTES"):  # im2col kept whole; relu's mask; pooling's input, a mask per offset
        return cols + outputs, outputs * F32 + 4 * windows
    # blocked im2col (one block here): the input, to rebuild cols in backward, and the cols workspace
    from backprop_cli.nn.kernels import conv as conv_kernels

    if conv_kernels.kernels():  # the input copied batch-last; relu fused, its output kept, and the bool mask relu's
        # backward reads off that output; an int32 argmax a window (as wide as y: a byte-wide one kept the
        # pooling kernel from vectorizing)
        return n * c * 8 * 8 * F32 + cols + outputs * F32 + outputs, 4 * windows
    return n * c * 8 * 8 * F32 + cols + outputs, outputs * F32 + 4 * windows  # NumPy rules: the batch itself


def test_activation_memory_at_a_large_batch_is_the_linear_extension_of_two_measured_ones(mlp_config):
    big = explain_network(config_of(mlp_config, "training.batch_size=300"))
    hidden = big["layers"][1]
    assert big["batch"] == 300 and hidden["kept_bytes"] == 300 * 64 * F32 + 300 * 32


def test_parameter_and_optimizer_bytes_equal_the_tensors_of_a_real_checkpoint(tmp_path):
    layers = (
        "    - {type: dense, units: 24, activation: relu}\n    - {type: batchnorm}\n"
        "    - {type: residual, layers: [{type: dense, units: 12, activation: tanh}]}\n    - {type: dense, units: 10}\n"
    )
    extra = "optimizer: {type: adam, lr: 0.001}\ntraining: {epochs: 1, batch_size: 32}\n"
    config = write_config(tmp_path / "bn.yaml", layers, data="{dataset: digits, validation_split: 0.2}", extra=extra)
    result = backprop("train", str(config), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert result.returncode == 0, err(result)
    tensors = load_file(out(result).strip() + "/checkpoints/last.safetensors")
    model_bytes = sum(t.nbytes for name, t in tensors.items() if name.startswith("model."))
    optimizer_bytes = sum(t.nbytes for name, t in tensors.items() if name.startswith("optimizer."))
    totals = explain_network(config_of(config))["totals"]
    assert totals["param_bytes"] + totals["state_bytes"] == model_bytes
    assert totals["state_bytes"] == 2 * 24 * F32  # running_mean and running_var
    assert totals["optimizer_state_bytes"] == optimizer_bytes


def test_the_cli_prints_forward_then_backward_panels_as_plain_text_off_a_terminal(mlp_config):
    result = backprop("explain", str(mlp_config))
    assert result.returncode == 0, err(result)
    text = out(result)
    assert "\x1b" not in text
    order = ["FORWARD", "[1] dense(relu)   N×64 → N×32   W 64×32, b 32", "z = x·W + b", "y = max(z, 0)",
             "loss: cross_entropy", "BACKWARD", "dz = (p − onehot(t)) / N", "[2] dense", "dx = dy·Wᵀ",
             "[1] dense(relu)", "dz = dy ⊙ 1[z > 0]", "dW = xᵀ·dz", "UPDATE", "adam (lr 0.001", "m̂ = m / (1 − 0.9ᵗ)",
             "lr at step 1: 0.001", "TOTALS", "activations"]  # fmt: skip
    at = 0
    for piece in order:  # each piece after the one before it
        at = text.find(piece, at)
        assert at >= 0, f"{piece!r} missing or out of order"


def test_json_is_one_object_for_tools(mlp_config):
    result = backprop("explain", str(mlp_config), "--json", "--set", "training.batch_size=4")
    assert result.returncode == 0, err(result)
    report = json.loads(out(result))
    assert report["batch"] == 4 and report["backward_order"] == ["2", "1", "0"]
    first = report["layers"][1]["backward"]
    assert first[:3] == ["dz = dy ⊙ 1[z > 0]", "dW = xᵀ·dz", "db = Σₙ dz"]
    assert first[3].startswith("dx: not computed (the first layer that trains")


def test_on_a_terminal_each_layer_is_a_rich_panel(capsys):
    from backprop_cli.cli.explain import blocks
    from backprop_cli.cli.sections import print_blocks

    report = {"config": "x", "batch": 2, "dtype": "float32", "input_shape": [2, 3], "layers": [], "backward_order": [],
              "loss": {"type": "mse", "input_shape": [2, 3], "forward": ["L = [n,c]"], "backward": ["d"]},
              "optimizer": {"type": "sgd", "rule": ["p ← p − lr·g"], "hyperparameters": {"lr": 0.1},
                            "regularization": {}},
              "schedule": {"type": "constant", "rule": "lr = 0.1", "lr_at_step_1": 0.1},
              "totals": dict.fromkeys(["param_count", "flops_forward", "flops_backward", "flops_step", "param_bytes",
                                       "grad_bytes", "state_bytes", "optimizer_state_bytes", "optimizer_work_bytes",
                                       "activation_bytes", "step_bytes"], 0)}  # fmt: skip
    print_blocks(blocks(report), rich=True)
    text = capsys.readouterr().out
    assert "╭" in text and "L = [n,c]" in text  # a panel, and brackets shown as text, not read as markup


def test_every_loss_optimizer_and_schedule_describes_itself():
    from backprop_cli.nn.losses import LOSSES
    from backprop_cli.optim.registry import OPTIMIZERS, SCHEDULES

    for table in (LOSSES, OPTIMIZERS, SCHEDULES):
        for name, cls in table.items():
            assert "explain" in vars(cls), f"{name}: add explain() beside its rule"


def _residual_config(tmp_path, block: str):
    """digits -> flatten -> dense 16 relu -> residual[block] -> dense 10; batch 16, SGD."""
    layers = (
        "    - {type: flatten}\n    - {type: dense, units: 16, activation: relu}\n"
        f"    - {{type: residual, layers: [{block}]}}\n    - {{type: dense, units: 10}}\n"
    )
    extra = "optimizer: {type: sgd, lr: 0.1}\ntraining: {epochs: 1, batch_size: 16}\n"
    path = write_config(tmp_path / "res.yaml", layers, data="{dataset: digits, validation_split: 0.2}", extra=extra)
    return explain_network(config_of(path))


def test_totals_with_a_residual_block_count_the_block_once_not_its_nested_rows_too(tmp_path):
    r = _residual_config(tmp_path, "{type: dense, units: 16, activation: relu}")
    n = 16
    assert [row["name"] for row in r["layers"]] == ["0", "1", "2", "2.0", "3"]
    # dense 64->16 relu, the first layer that trains: no dx
    first_f, first_b = 2 * n * 64 * 16 + n * 16 + n * 16, n * 16 + 2 * n * 64 * 16 + n * 16
    # the block: its dense 16->16 relu (with dx), plus the skip's sum (forward) and the two gradients' sum (backward)
    inner_f, inner_b = 2 * n * 16 * 16 + n * 16 + n * 16, n * 16 + 2 * n * 16 * 16 + n * 16 + 2 * n * 16 * 16
    block_f, block_b = inner_f + n * 16, inner_b + n * 16
    last_f, last_b = 2 * n * 16 * 10 + n * 10, 2 * n * 16 * 10 + n * 10 + 2 * n * 16 * 10
    rows = {row["name"]: row for row in r["layers"]}
    assert rows["2"]["flops"] == {"forward": block_f, "backward": block_b}
    assert rows["2.0"]["flops"] == {"forward": inner_f, "backward": inner_b}
    t = r["totals"]
    assert (t["flops_forward"], t["flops_backward"]) == (first_f + block_f + last_f, first_b + block_b + last_b)
    assert t["flops_step"] == t["flops_forward"] + t["flops_backward"]
    # kept for backward: each dense its input and relu's 1-byte mask; the block's row is its dense's; the loss
    # its probabilities, labels and row indices
    block_kept = n * 16 * F32 + n * 16
    assert rows["2"]["kept_bytes"] == rows["2.0"]["kept_bytes"] == block_kept
    loss_kept = n * 10 * F32 + n * I64 + n * I64
    assert t["activation_bytes"] == (n * 64 * F32 + n * 16) + block_kept + n * 16 * F32 + loss_kept
    assert t["param_count"] == 64 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10


def test_state_bytes_of_a_batchnorm_inside_a_block_count_once(tmp_path):
    r = _residual_config(tmp_path, "{type: dense, units: 16}, {type: batchnorm}")
    rows = {row["name"]: row for row in r["layers"]}
    assert rows["2"]["state_bytes"] == rows["2.1"]["state_bytes"] == 2 * 16 * F32  # running_mean, running_var
    assert r["totals"]["state_bytes"] == 2 * 16 * F32
