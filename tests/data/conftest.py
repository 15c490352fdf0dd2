"""Fixtures for the data tests: MNIST read once per session, a local HTTP mirror of the slice."""

from __future__ import annotations

import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tests.datafiles import full_data_dir, require_full_mnist

from .helpers import LABELS, SLICE_DIR, SLICE_MNIST, data_cfg, write_idx


@pytest.fixture(scope="session")
def mnist_raw():
    """The full MNIST, read once for the whole session (a RawData); required on CI, else skipped when absent."""
    from backprop_cli.data.mnist import load_mnist

    return load_mnist(data_cfg(dataset="mnist", data_dir=str(require_full_mnist())), 0)


@pytest.fixture(scope="session")
def slice_raw():
    """The MNIST slice shipped with the tests (a RawData): always there."""
    from backprop_cli.data.mnist import load_mnist

    saved = os.environ.pop("BACKPROP_DATA_DIR", None)  # it would win over data_dir
    try:
        return load_mnist(data_cfg(dataset="mnist", data_dir=str(SLICE_DIR)), 0)
    finally:
        if saved is not None:
            os.environ["BACKPROP_DATA_DIR"] = saved


class Mirror(SimpleHTTPRequestHandler):
    """Serves the mirror directory under /ok/ (and itself: /bad/...); /500/ and /404/ answer with that status;
    /cut/ announces the whole file in Content-Length and closes the connection halfway."""

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        mode, _, rest = self.path.lstrip("/").partition("/")
        if mode in ("500", "404"):
            self.send_error(int(mode))
            return
        if mode == "cut":
            data = (Path(self.directory) / rest).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "ok":
            self.path = "/" + rest
        super().do_GET()


@pytest.fixture(scope="session")
def mirror(tmp_path_factory):
    """http://127.0.0.1:PORT with <root>/mnist (the slice), <root>/bad/mnist (a wrong labels file) and, when
    the full data sets are present, <root>/full/mnist (the canonical files)."""
    root = tmp_path_factory.mktemp("mirror")
    shutil.copytree(SLICE_MNIST, root / "mnist")
    (root / "bad" / "mnist").mkdir(parents=True)
    write_idx(root / "bad" / "mnist" / LABELS, np.zeros(500, np.uint8))  # valid IDX, wrong content
    full = full_data_dir()
    if full is not None:
        (root / "full").mkdir()
        (root / "full" / "mnist").symlink_to(full / "mnist")

    def handler(*args, **kwargs):
        return Mirror(*args, directory=str(root), **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
