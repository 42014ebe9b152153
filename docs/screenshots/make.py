"""Screenshots of the reports of the sample run, as shown in the README.

    python docs/screenshots/make.py            # needs Debian's chromium and playwright

Runs `ideaflow compare`, `ideaflow backtest` and `ideaflow analyze` on datasets/sample
with `--report` into a temporary directory, opens each report.html in headless Chromium
and saves the top of the page as PNG next to this file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SAMPLE = ROOT / "datasets" / "sample"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]  # fmt: skip
RUNS = {
    "report-comparison": ["compare", str(SAMPLE), "--strategies", "isolation,herd,diverse,echo,placebo"],
    "report-backtest": ["backtest", str(SAMPLE), "--strategy", "diverse"],
    "report-analysis": ["analyze", str(SAMPLE)],
}  # fmt: skip


def main() -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        for name, args in RUNS.items():
            out = Path(tmp) / name
            cmd = [sys.executable, "-m", "ideaflow", *args, "--out", str(out), "--report"]
            subprocess.run(cmd, check=True, capture_output=True)
            page = browser.new_page(viewport={"width": 1200, "height": 1500})
            page.goto((out / "report.html").as_uri(), wait_until="load")
            target = HERE / f"{name}.png"
            page.screenshot(path=str(target), full_page=False)
            page.close()
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
