"""`backprop report` and `runs compare --html`: one self-contained page, opened in a real headless Chromium:
it loads with no console error and no request outside the file, every image decodes, the screenshot is not
blank, images have alt texts, headings do not skip a level, and a phone's width needs no sideways scroll."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from tests.cli.conftest import backprop, err
from tests.pictures.conftest import SINE, SPIRALS3, train
from tests.reliability.helpers import in_process


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    return {
        "spirals": train(tmp / "spirals", SPIRALS3.format(seed=0)),
        "other": train(tmp / "other", SPIRALS3.format(seed=1), "optimizer.lr=0.005"),
        "sine": train(tmp / "sine", SINE),
    }


@pytest.fixture(scope="module")
def pages(runs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    written = {}
    for name in ("spirals", "sine"):  # in this process: what is tested is the page, not the process
        result = in_process("report", runs[name], "-o", tmp / f"{name}.html")
        assert result.returncode == 0, result.stderr
        written[name] = tmp / f"{name}.html"
    result = in_process("runs", "compare", runs["spirals"], runs["other"], "--html", tmp / "compare.html")
    assert result.returncode == 0, result.stderr
    written["compare"] = tmp / "compare.html"
    return written


def test_the_page_has_every_section_and_points_nowhere_outside_itself(pages):
    page = pages["spirals"].read_text()
    headings = re.findall(r"<h2>([^<]*)</h2>", page)
    assert headings == ["Summary", "Test metrics", "Learning curves and gradient flow", "Activations and gradients",
                        "Confusion matrix and ROC curves", "The network, layer by layer (explain)", "Warnings",
                        "Config"]  # fmt: skip
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)  # every image inline, no link to fetch
    assert "<script" not in page
    assert page.count("<img ") == 5  # curves, the histograms of the first and last epoch, confusion, ROC


def test_a_section_that_does_not_apply_says_so(pages):
    page = pages["sine"].read_text()
    assert "A regression run: no classes to confuse." in page


def test_the_output_must_be_an_html_file(runs, tmp_path):
    result = backprop("report", str(runs["sine"]), "-o", str(tmp_path / "r.png"))
    assert result.returncode == 2 and "a report is an .html page" in err(result)
    assert not (tmp_path / "r.png").exists()


def _open(browser, path, width=1200, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors, requests = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, errors, requests


@pytest.mark.parametrize("name", ["spirals", "sine", "compare"])
def test_in_a_real_browser_the_page_loads_clean_and_every_image_decodes(browser, pages, name):
    page, errors, requests = _open(browser, pages[name])
    try:
        assert errors == []
        outside = [url for url in requests if url != pages[name].as_uri() and not url.startswith("data:")]
        assert outside == []
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
        assert images and all(complete and width > 0 and alt.strip() for complete, width, alt in images)
        levels = page.evaluate("Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => +h.tagName[1])")
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:]))  # no heading level skipped
        assert page.title()
        shot = _pixels(page.screenshot(full_page=True))
        assert shot.std() > 0.05 and shot.shape[0] > 900  # not blank, and longer than one screen
    finally:
        page.close()


def test_on_a_phone_the_page_needs_no_sideways_scrolling(browser, pages):
    page, errors, _ = _open(browser, pages["spirals"], width=390, height=844)
    try:
        assert errors == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        widths = page.evaluate("Array.from(document.images).map(i => i.getBoundingClientRect().width)")
        assert max(widths) <= 390
    finally:
        page.close()


def _pixels(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    return np.asarray(imread(io.BytesIO(png), format="png"))[..., :3]


def test_compare_html_shows_the_differing_keys_and_both_runs(pages, runs):
    html = pages["compare"].read_text()
    assert "optimizer.lr" in html and runs["spirals"].name in html and runs["other"].name in html
