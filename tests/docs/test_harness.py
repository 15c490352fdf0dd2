"""The docs harness can fail: a command that fails mid-block, a wrong exit code, missing text, a broken link."""

from __future__ import annotations

from pathlib import Path

from tests.docs import harness
from tests.docs.harness import problems, run_page

PAGE = """# A page

```bash
mkdir -p /tmp/here && cd /tmp/here
echo made > file.txt
```

The folder carries on to the next block, and `backprop` is this checkout's:

<!-- test: expect made -->
```bash
cat file.txt
backprop --version
```

<!-- test: exit 2 -->
```bash
backprop train no-such.yaml
```

<!-- test: skip an install line -->
```bash
pip install something-that-is-not-run
```
"""


def _run(tmp_path: Path, text: str, home: Path) -> list[str]:
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text(text)
    work = tmp_path / "work"
    work.mkdir()
    return [line for outcome in run_page(page, work, home=home) for line in problems(outcome)]


def test_a_page_that_does_what_it_says_passes(tmp_path, home):
    assert _run(tmp_path, PAGE, home) == []


def test_a_command_failing_in_the_middle_of_a_block_is_reported_with_its_line(tmp_path, home):
    found = _run(tmp_path, PAGE.replace("cat file.txt", "cat missing.txt\ntrue"), home)
    assert "page.md:11: `cat missing.txt` exited 1" in found, found  # the block's fence line


def test_a_refusal_that_does_not_happen_and_missing_text_are_reported(tmp_path, home):
    found = _run(tmp_path, PAGE.replace("backprop train no-such.yaml", "true").replace("echo made", "echo other"), home)
    assert any("should end with exit 2, it ended with 0" in line for line in found), found
    assert any("does not contain 'made'" in line for line in found), found


def test_train_and_cv_get_the_pages_epoch_budget(tmp_path, home):
    text = """<!-- test: epochs 1 -->
```bash
backprop train configs/iris.yaml --quiet --runs-dir runs
backprop runs list runs --json | grep '"epochs": 1,'
```
"""
    assert _run(tmp_path, text, home) == []


def test_links_name_the_files_they_point_at(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.png").write_bytes(b"")
    page.write_text("![a picture](there.png) and [a page](missing.md#part) and [a site](https://example.org)")
    assert [(w, t.name) for w, t in harness.links(page)] == [
        ("there.png", "there.png"),
        ("missing.md#part", "missing.md"),
    ]


def test_a_sweep_gets_the_budget_and_its_resume_is_left_as_written(tmp_path, home):
    text = """<!-- test: epochs 1 -->
```bash
printf 'base: configs/iris.yaml\\nparameters:\\n  optimizer.lr: [0.1]\\n' > one.yaml
DIR=$(backprop sweep one.yaml --workers 1)
grep -q "epochs: 1," "$DIR"/trial-000-*/config.yaml
backprop sweep --resume "$DIR"
```
"""
    assert _run(tmp_path, text, home) == []
