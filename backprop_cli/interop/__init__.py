"""Models and runs for other tools: ONNX and npz export, PyTorch weights import (see README "Export, import")."""
