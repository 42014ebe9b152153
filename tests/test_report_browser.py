"""The HTML report in a real browser: Debian's headless Chromium driven by Playwright.

Reports of a backtest, a comparison and an analysis are opened from disk; the test fails
on any console error, on any request other than the page itself, and unless the tables
and every figure are laid out with a size and the screenshot is not blank.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from click.testing import CliRunner
from playwright.sync_api import sync_playwright

from ideaflow.cli import main
from ideaflow.reporting.html import renumber_svg_ids, report_html
from ideaflow.synth import generate

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# what the browser must not do on its own in this closed sandbox (and what a page viewer
# would not either): background services, sync, component updates
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    data = root / "data"
    generate("tiny", seed=2, out=data)
    out = {"backtest": root / "bt", "comparison": root / "cmp", "analysis": root / "an"}
    commands = {
        "backtest": ["backtest", str(data), "-s", "diverse", "--out", str(out["backtest"])],
        "comparison": [
            "compare", str(data), "--strategies", "isolation,diverse,placebo",
            "--n-boot", "50", "--out", str(out["comparison"]),
        ],
        "analysis": ["analyze", str(data), "--n-boot", "30", "--out", str(out["analysis"])],
    }  # fmt: skip
    for name, args in commands.items():
        result = CliRunner().invoke(main, [*args, "--report", "--no-progress"])
        assert result.exit_code == 0, result.output
        assert f"report: {out[name] / 'report.html'}" in result.output
    return out


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _not_blank(png: bytes) -> bool:
    """More than a handful of distinct colours: something was drawn."""
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    flat = (pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return np.unique(flat, axis=0).shape[0] > 20


@pytest.mark.parametrize("kind", ["backtest", "comparison", "analysis"])
def test_report_renders_offline_with_visible_tables_and_figures(
    runs: dict[str, Path], browser, kind: str
) -> None:
    page_file = runs[kind] / "report.html"
    url = page_file.resolve().as_uri()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="load")
    assert errors == []
    assert requests == [url]
    tables = page.locator("table")
    figures = page.locator("figure svg")
    assert tables.count() >= 1
    assert figures.count() >= (3 if kind == "analysis" else 2)
    for locator in (tables, figures):
        for i in range(locator.count()):
            box = locator.nth(i).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 30, (kind, i)
    assert _not_blank(page.screenshot(full_page=True))
    page.close()


def test_report_makes_no_reference_outside_the_file(runs: dict[str, Path]) -> None:
    for kind, run in runs.items():
        page = (run / "report.html").read_text()
        for marker in ("<script", "<link", "<img", "<iframe", "@import", "url(http", 'src="http'):
            assert marker not in page, (kind, marker)
        assert 'href="http' not in page.replace('href="http://www.w3.org', ""), kind


def test_the_same_run_gives_the_same_bytes_and_the_command_writes_elsewhere(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    for run in runs.values():
        # drawn again and again in one process: matplotlib's id hashes may move, the page not
        pages = {report_html(run) for _ in range(3)}
        assert len(pages) == 1
        target = tmp_path / f"{run.name}.html"
        result = CliRunner().invoke(main, ["report", str(run), "--out", str(target)])
        assert result.exit_code == 0, result.output
        assert target.read_bytes() == (run / "report.html").read_bytes()


def test_a_directory_that_is_no_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "expected a run directory of backtest, compare or analyze" in result.output
    assert "Traceback" not in result.output


def test_svg_ids_are_renumbered_by_first_appearance() -> None:
    page = (
        '<svg><clipPath id="p3266ea1cbf"/><path clip-path="url(#p3266ea1cbf)"/>'
        '<use xlink:href="#m0123456789"/></svg><svg><g clip-path="url(#p3266ea1cbf)"/>'
        '<path style="stroke: #1f77b4"/></svg>'
    )
    assert renumber_svg_ids(page) == (
        '<svg><clipPath id="svg1"/><path clip-path="url(#svg1)"/>'
        '<use xlink:href="#svg2"/></svg><svg><g clip-path="url(#svg1)"/>'
        '<path style="stroke: #1f77b4"/></svg>'
    )
