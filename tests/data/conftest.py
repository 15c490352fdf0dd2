"""Fixtures for the data tests: MNIST read once per session, a local HTTP mirror of it."""

from __future__ import annotations

import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from .helpers import LABELS, MNIST_DIR, SHARED, data_cfg, write_idx


def require_mnist() -> None:
    """These tests read the real files: without them they fail, saying where the files belong."""
    if not MNIST_DIR.is_dir():
        pytest.fail(
            f"the MNIST IDX files are not in {MNIST_DIR}; put the four *-ubyte.gz files there "
            "(`backprop data download mnist` fetches them into ~/.cache/backprop/mnist)"
        )


@pytest.fixture(scope="session")
def mnist_raw():
    """MNIST from the shared directory, read once for the whole session (a RawData)."""
    require_mnist()
    from backprop_cli.data.mnist import load_mnist

    return load_mnist(data_cfg(dataset="mnist", data_dir=str(SHARED)), 0)


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
    """http://127.0.0.1:PORT with <root>/mnist (good copies) and <root>/bad/mnist (a wrong labels file)."""
    require_mnist()
    root = tmp_path_factory.mktemp("mirror")
    shutil.copytree(MNIST_DIR, root / "mnist")
    (root / "bad" / "mnist").mkdir(parents=True)
    write_idx(root / "bad" / "mnist" / LABELS, np.zeros(60000, np.uint8))  # valid IDX, wrong content

    def handler(*args, **kwargs):
        return Mirror(*args, directory=str(root), **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
