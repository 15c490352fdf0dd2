"""A plugin layer exports to ONNX only through its class's to_onnx hook; without one it is refused by name."""

from __future__ import annotations

import pytest

from tests.interop.helpers import needs_onnx  # noqa: E402

pytestmark = needs_onnx()  # onnx and onnxruntime (~1.3 s to import) are imported by the tests that run

from backprop_cli.errors import UserError  # noqa: E402
from backprop_cli.interop.onnx_export import export_onnx  # noqa: E402
from backprop_cli.nn.plugin_source import provide_file  # noqa: E402
from tests.interop.test_onnx_layers import trained  # noqa: E402
from tests.nn.layer_specs import PLUGIN_FILE  # noqa: E402


def test_a_plugin_without_an_export_hook_is_refused_naming_the_layer_and_the_hook(tmp_path, rng):
    text = PLUGIN_FILE.read_text()
    no_hook = tmp_path / "swish.py"
    no_hook.write_text(text[: text.index("    def to_onnx")])
    provide_file(no_hook, where="test")
    plugin = {"type": "plugin", "path": str(no_hook), "class": "LearnedSwish"}
    t = trained([{"type": "dense", "units": 4}, plugin], (3,), rng)
    with pytest.raises(UserError, match=r"layer model\.1 is the plugin swish\.py:LearnedSwish") as info:
        export_onnx(t)
    assert "to_onnx" in info.value.fix and "--format npz" in info.value.fix
