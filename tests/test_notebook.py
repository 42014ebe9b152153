"""The research notebook runs top to bottom (nbclient) on a reduced platform, so it can
never rot: `IDEAFLOW_NB_PRESET=tiny`, fewer bootstrap replicates."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.slow
def test_network_diversity_notebook_runs_on_a_reduced_platform(monkeypatch):
    monkeypatch.setenv("IDEAFLOW_NB_PRESET", "tiny")
    monkeypatch.setenv("IDEAFLOW_NB_BOOT", "30")
    # the kernel must not compete with itself for the 2 CI cores
    monkeypatch.setenv("NUMBA_NUM_THREADS", os.environ.get("NUMBA_NUM_THREADS", "2"))
    nb = nbformat.read(NOTEBOOKS / "01_network_diversity.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert errors == []
    text = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )
    assert "preset tiny" in text
    assert "Shared cluster error 0 -> 4" in text
    assert "notebook ran in" in text


def test_notebook_is_built_from_its_script_and_committed_with_outputs():
    """The committed .ipynb has the cells notebooks/build_01.py builds, run: every code
    cell has been executed in order without error, and the figures are in it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_01", NOTEBOOKS / "build_01.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    stored = nbformat.read(NOTEBOOKS / "01_network_diversity.ipynb", as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in built.cells]
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1))
    outputs = [out for c in code for out in c.get("outputs", [])]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    figures = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(figures) >= 3
