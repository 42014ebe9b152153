"""The package's shape: layers that only point down, no import cycle (function-level
imports included), small modules, and figures that leave the user's matplotlib alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import matplotlib
import pandas as pd
import pytest

import ideaflow
from ideaflow.reporting.figures import backtest_figures
from ideaflow.results import BacktestResult

# the repository's tree (the tests may run against an installed copy of the package)
ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "ideaflow"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_any_two_modules() -> None:
    graph = grimp.build_graph("ideaflow")
    assert len(graph.modules) > 50
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.d", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_the_layers_contract_is_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_no_module_is_over_600_lines() -> None:
    sizes = {
        str(path.relative_to(SRC)): len(path.read_text().splitlines()) for path in SRC.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 650} == {}


def test_figures_leave_the_matplotlib_backend_alone(tmp_path: Path) -> None:
    """Drawing a result's figures must not switch the backend a notebook user chose."""
    code = (
        "import matplotlib; matplotlib.use('svg'); import ideaflow, ideaflow.api, "
        "ideaflow.reporting.figures, ideaflow.reporting.comparison, "
        "ideaflow.reporting.analysis; print(matplotlib.get_backend())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "svg"
    before = matplotlib.get_backend()
    accounts = pd.DataFrame({"trader_id": [1, 2], "n_trades": [3, 3], "roi": [0.1, -0.2]})
    trades = pd.DataFrame({"close_time": [], "parent_trade_id": [], "ret": []})
    result = BacktestResult("actual", {}, trades=trades, accounts=accounts)
    written = backtest_figures(result, tmp_path)
    assert [p.name for p in written] == ["roi_distribution.png"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.get_backend() == before


def test_every_top_level_module_has_a_layer() -> None:
    """A new top-level module or package must be placed in the layers contract."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    present = {
        f"ideaflow.{p.stem if p.is_file() else p.name}"
        for p in SRC.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert present - named == set()
    assert named - present == set()


def test_the_command_line_starts_without_loading_the_library() -> None:
    """`ideaflow --help` (and every command before it runs) imports the CLI and the data
    contract only: the API, strategies, analytics, plotting and regression stacks load
    when a command needs them."""
    code = (
        "import sys, ideaflow.cli; heavy = ['ideaflow.api', 'ideaflow.strategies', "
        "'ideaflow.analytics', 'ideaflow.reporting', 'matplotlib', 'statsmodels']; "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_public_names_resolve_on_first_use() -> None:
    for name in ideaflow.__all__:
        assert getattr(ideaflow, name) is not None, name
    assert ideaflow.backtest is __import__("ideaflow.api", fromlist=["backtest"]).backtest
    assert set(ideaflow.__all__) <= set(dir(ideaflow))
    with pytest.raises(AttributeError, match="has no attribute 'not_a_name'"):
        ideaflow.not_a_name  # noqa: B018
