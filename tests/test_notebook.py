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
    _assert_ran_with_figures(stored, figures=3)


def _assert_ran_with_figures(stored: nbformat.NotebookNode, figures: int) -> None:
    """Committed with outputs: every code cell executed in order, no error, the figures."""
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1))
    outputs = [out for c in code for out in c.get("outputs", [])]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    drawn = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(drawn) >= figures


def _build_module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, NOTEBOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_experiments_notebook_runs_on_a_reduced_spec(monkeypatch):
    monkeypatch.setenv("IDEAFLOW_NB_PRESET", "tiny")
    monkeypatch.setenv("IDEAFLOW_NB_SEEDS", "3")
    monkeypatch.setenv("NUMBA_NUM_THREADS", os.environ.get("NUMBA_NUM_THREADS", "2"))
    nb = nbformat.read(NOTEBOOKS / "02_experiments.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert [o for o in outputs if o.get("output_type") == "error"] == []
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "preset tiny, 3 seeds" in text
    assert "diverse - isolation (cluster_error=0, exposure=matched)" in text
    assert "cells run again: 0 of 6" in text
    assert "complementary: roi30_vs_untreated" in text
    assert "notebook ran in" in text
    # the figures were drawn (two image outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2


def test_experiments_notebook_is_built_from_its_script():
    built = _build_module("build_02").build()
    stored = nbformat.read(NOTEBOOKS / "02_experiments.ipynb", as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in built.cells]
    _assert_ran_with_figures(stored, figures=2)
