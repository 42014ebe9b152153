"""ideaflow against vectorbt on the same copy-trading replay (optional baseline, extra `bench`).

    pip install -e ".[bench]"       # vectorbt; not part of the base install
    python benchmarks/bench_vectorbt.py                 # 1,000/10,000/5,000 and 100,000 accounts
    python benchmarks/bench_vectorbt.py --quick         # tiny sizes, checks the script (< 1 min)

The problem: N leaders trade one instrument on a grid of B hourly bars (a random walk
price); M followers each mirror 1-3 leaders (popular leaders are followed more), every
follow starting at a random bar in the first half of the data and 30% of them ending
before the end. Leader trades open at a bar and close at a later bar (all closed by the
last bar, so nothing is left open to be marked); no fees.

What each side computes:

* ideaflow: `dataset_from_frames` (validation + conversion) then
  `replay(ds, ReplayConfig("mirror"))`: copies regenerated event by event with
  docs/contract.md §4 proportional sizing `amount * allocation / E_L(t)` (E_L the leader's realised
  equity at the open, closes at t included; no copy when E_L <= 0), each copy its own
  position, then every account's docs/contract.md §3 metrics (pnl, roi, drawdown, Sharpe, ...).
* vectorbt, the natural way: the same copies are enumerated with numpy (follow active at
  the open; the same E_L, computed from the leaders' own closed trades, since leaders
  here never copy), then every order is summed into a dense bars x accounts grid of
  signed unit sizes (one column per account, leaders and followers; a follower's copies
  of several leaders net in its column), and `vbt.Portfolio.from_orders(close, size,
  size_type="amount", direction="both", cash_sharing=False)` simulates each column,
  then `total_profit()` per column. Units are `side * leverage * amount / open_price`,
  so a column's PnL equals the sum of its positions' PnL and the two tools must agree
  on every account's PnL (checked: max abs difference written to the results).
  vectorbt computes no drawdown/Sharpe here (it could, from the same grid).

Both run in child processes (benchmarks/measure.py: wall clock incl. interpreter start
and imports, peak RSS of the child), with Numba compilation done on a tiny warm-up problem
first and reported apart. vectorbt runs under an address-space cap (--cap-gib, default
14 GiB) so that a size that does not fit fails with MemoryError ("exceeded") instead of
swamping the machine. Results: benchmarks/results/vectorbt.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import measure_child  # noqa: E402

BAR_NS = 3600 * 1_000_000_000
START_NS = 1_293_840_000 * 1_000_000_000  # 2011-01-01T00:00:00Z
INITIAL_EQUITY = 10_000.0
VBT_INIT_CASH = (
    1e10  # no cash limit, as in docs/contract.md §4 (ideaflow applies none to followers)
)


# --------------------------------------------------------------------------- problem


def build_problem(
    n_leaders: int, n_followers: int, n_bars: int, seed: int, trades_per_leader: int = 50
) -> dict[str, np.ndarray]:
    """Leaders' trades on one instrument over `n_bars` bars and the follow intervals.

    Accounts are codes 0..n_leaders-1 (leaders) then n_leaders.. (followers); trader ids
    are code + 1. Bars are integer indices; end_bar == n_bars means "never ended".
    """
    rng = np.random.default_rng(seed)
    price = np.round(1.35 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n_bars))), 5)
    n_trades = n_leaders * trades_per_leader
    activity = rng.pareto(1.8, n_leaders) + 0.05
    activity /= activity.sum()
    leader = rng.choice(n_leaders, size=n_trades, p=activity).astype(np.int64)
    open_bar = rng.integers(0, n_bars - 1, n_trades, dtype=np.int64)
    hold = np.ceil(rng.lognormal(np.log(12.0), 1.2, n_trades)).astype(np.int64)
    close_bar = np.minimum(open_bar + np.maximum(hold, 1), n_bars - 1)
    side = np.where(rng.random(n_trades) < 0.5, 1, -1).astype(np.int8)
    amount = np.round(rng.lognormal(np.log(200.0), 1.0, n_trades), 2) + 1.0
    leverage = rng.choice(np.array([1.0, 2.0, 5.0, 10.0, 25.0]), size=n_trades)
    # trade ids increase with open time, as in platform logs
    order = np.lexsort((leader, open_bar))
    leader, open_bar, close_bar = leader[order], open_bar[order], close_bar[order]
    side, amount, leverage = side[order], amount[order], leverage[order]

    # follows: 1-3 leaders per follower, popular (active) leaders followed more
    k = rng.integers(1, 4, n_followers)
    follower = np.repeat(np.arange(n_followers, dtype=np.int64), k) + n_leaders
    popularity = activity**0.7
    popularity /= popularity.sum()
    f_leader = rng.choice(n_leaders, size=follower.shape[0], p=popularity).astype(np.int64)
    _, first = np.unique(follower * n_leaders + f_leader, return_index=True)  # one per pair
    first.sort()
    follower, f_leader = follower[first], f_leader[first]
    m = follower.shape[0]
    start_bar = rng.integers(0, n_bars // 2, m, dtype=np.int64)
    ends = rng.random(m) < 0.3
    end_bar = np.where(ends, rng.integers(start_bar + 1, n_bars), n_bars).astype(np.int64)
    allocation = np.round(rng.uniform(200.0, 5000.0, m), 2)
    return {
        "n_leaders": np.int64(n_leaders),
        "n_followers": np.int64(n_followers),
        "n_bars": np.int64(n_bars),
        "price": price,
        "leader": leader,
        "open_bar": open_bar,
        "close_bar": close_bar,
        "side": side,
        "amount": amount,
        "leverage": leverage,
        "follower": follower,
        "f_leader": f_leader,
        "start_bar": start_bar,
        "end_bar": end_bar,
        "allocation": allocation,
    }


def to_frames(p: dict[str, np.ndarray]):
    """The problem as ideaflow's input tables (pandas): trades and follows."""
    import pandas as pd

    bar_time = START_NS + np.arange(int(p["n_bars"]) + 1, dtype=np.int64) * BAR_NS
    n = p["leader"].shape[0]
    trades = pd.DataFrame(
        {
            "trade_id": np.arange(1, n + 1, dtype=np.int64),
            "trader_id": p["leader"] + 1,
            "instrument": "EURUSD",
            "side": p["side"],
            "open_time": bar_time[p["open_bar"]].astype("datetime64[ns]"),
            "close_time": bar_time[p["close_bar"]].astype("datetime64[ns]"),
            "open_price": p["price"][p["open_bar"]],
            "close_price": p["price"][p["close_bar"]],
            "amount": p["amount"],
            "leverage": p["leverage"],
        }
    )
    never = p["end_bar"] >= int(p["n_bars"])
    end = pd.Series(bar_time[np.minimum(p["end_bar"], int(p["n_bars"]))].astype("datetime64[ns]"))
    follows = pd.DataFrame(
        {
            "follower_id": p["follower"] + 1,
            "leader_id": p["f_leader"] + 1,
            "start_time": bar_time[p["start_bar"]].astype("datetime64[ns]"),
            "end_time": end.mask(never),
            "allocation": p["allocation"],
        }
    )
    return trades, follows


# --------------------------------------------------------------------------- vectorbt side


def copy_orders(p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every position as (account, open_bar, close_bar, units): originals, then copies.

    Copies follow docs/contract.md §4: a follow copies its leader's trades opened while it is active,
    sized by allocation / E_L at the open (E_L: initial equity + the leader's PnL closed at
    or before that bar), none when E_L <= 0.
    """
    n_bars = int(p["n_bars"])
    leader, ob, cb = p["leader"], p["open_bar"], p["close_bar"]
    units = p["side"] * p["leverage"] * p["amount"] / p["price"][ob]
    pnl = units * (p["price"][cb] - p["price"][ob])
    # E_L at each trade's open, from the leader's trades sorted by close bar
    key_close = leader * (n_bars + 1) + cb
    by_close = np.argsort(key_close, kind="stable")
    cum = np.concatenate(([0.0], np.cumsum(pnl[by_close])))
    sorted_keys = key_close[by_close]
    upto = np.searchsorted(sorted_keys, leader * (n_bars + 1) + ob, side="right")
    before = np.searchsorted(sorted_keys, leader * (n_bars + 1), side="left")
    equity = INITIAL_EQUITY + cum[upto] - cum[before]
    # trades are ordered by (open_bar, leader); regroup by (leader, open_bar) for the join
    key_open = leader * (n_bars + 1) + ob
    by_open = np.argsort(key_open, kind="stable")
    ko = key_open[by_open]
    fl = p["f_leader"]
    lo = np.searchsorted(ko, fl * (n_bars + 1) + p["start_bar"], side="left")
    hi = np.searchsorted(ko, fl * (n_bars + 1) + p["end_bar"], side="left")
    count = hi - lo
    follow_of = np.repeat(np.arange(fl.shape[0]), count)
    offsets = np.arange(follow_of.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    parent = by_open[np.repeat(lo, count) + offsets]
    keep = equity[parent] > 0
    parent, follow_of = parent[keep], follow_of[keep]
    c_units = units[parent] * p["allocation"][follow_of] / equity[parent]
    account = np.concatenate((leader, p["follower"][follow_of]))
    return (
        account,
        np.concatenate((ob, ob[parent])),
        np.concatenate((cb, cb[parent])),
        np.concatenate((units, c_units)),
    )


def size_grid(p: dict[str, np.ndarray], account, ob, cb, units) -> np.ndarray:
    """The dense bars x accounts grid of signed order sizes (units) vectorbt needs."""
    n_bars, n_cols = int(p["n_bars"]), int(p["n_leaders"] + p["n_followers"])
    cell = np.concatenate((ob * n_cols + account, cb * n_cols + account))
    flat = np.bincount(cell, weights=np.concatenate((units, -units)), minlength=n_bars * n_cols)
    return flat.reshape(n_bars, n_cols)


def run_vectorbt(p: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Per-account PnL from vectorbt (accounts in code order) and stage timings."""
    import pandas as pd
    import vectorbt as vbt

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    account, ob, cb, units = copy_orders(p)
    t["copies_numpy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    grid = size_grid(p, account, ob, cb, units)
    index = pd.DatetimeIndex(
        (START_NS + np.arange(grid.shape[0], dtype=np.int64) * BAR_NS).astype("datetime64[ns]")
    )
    size = pd.DataFrame(grid, index=index, copy=False)
    close = pd.Series(p["price"], index=index)
    t["grid"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pf = vbt.Portfolio.from_orders(
        close,
        size,
        size_type="amount",
        direction="both",
        init_cash=VBT_INIT_CASH,
        cash_sharing=False,
        freq="1h",
    )
    t["from_orders"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pnl = np.asarray(pf.total_profit(), dtype=np.float64)
    t["total_profit"] = time.perf_counter() - t0
    t["total"] = sum(t.values())
    t["copies"] = float(account.shape[0] - p["leader"].shape[0])
    t["orders"] = float(pf.orders.count().sum())
    return pnl, t


# --------------------------------------------------------------------------- ideaflow side


def run_ideaflow(p: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Per-account PnL from ideaflow's mirror replay (accounts in code order) and timings."""
    import ideaflow
    from ideaflow.engine import ReplayConfig, replay

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    trades, follows = to_frames(p)
    t["frames"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = ideaflow.io.dataset_from_frames(trades, follows, initial_equity=INITIAL_EQUITY)
    t["validate_convert"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = replay(ds, ReplayConfig(strategy="mirror", depth=1))
    t["replay_with_metrics"] = time.perf_counter() - t0
    t["total"] = t["validate_convert"] + t["replay_with_metrics"]
    t.update({f"replay_stage_{k}": float(v) for k, v in res.timings.items()})
    t["copies"] = float(res.counts.get("copies_generated", 0))
    acc = res.accounts_frame(ds)
    n_acc = int(p["n_leaders"] + p["n_followers"])
    pnl = np.zeros(n_acc)
    code = acc["trader_id"].to_numpy() - 1
    pnl[code] = acc["pnl"].to_numpy()
    return pnl, t


# --------------------------------------------------------------------------- child / parent


def child(tool: str, problem: Path, out: Path) -> None:
    """Child process: warm up (Numba compile) on a tiny problem, then time the real one."""
    runner = run_vectorbt if tool == "vectorbt" else run_ideaflow
    t0 = time.perf_counter()
    runner(build_problem(3, 5, 50, seed=1, trades_per_leader=5))
    warm = time.perf_counter() - t0
    with np.load(problem) as z:
        p = {k: z[k] for k in z.files}
    pnl, timings = runner(p)
    np.save(out, pnl)
    print(json.dumps({"warmup_s": warm, **timings}))


def run_size(args, n_leaders: int, n_followers: int, work: Path) -> dict:
    n_bars = args.bars
    tag = f"{n_leaders}-{n_followers}-{n_bars}-{args.seed}"
    problem = work / f"problem-{tag}.npz"
    p = build_problem(n_leaders, n_followers, n_bars, args.seed)
    np.savez(problem, **p)
    n_cols = n_leaders + n_followers
    row: dict = {
        "leaders": n_leaders,
        "followers": n_followers,
        "accounts": n_cols,
        "bars": n_bars,
        "leader_trades": int(p["leader"].shape[0]),
        "follows": int(p["follower"].shape[0]),
        "dense_grid_gib": n_bars * n_cols * 8 / 2**30,
        "vbt_default_order_records_gib": n_bars * n_cols * 56 / 2**30,
    }
    pnls = {}
    for tool in ("ideaflow", "vectorbt"):
        out = work / f"pnl-{tool}-{tag}.npy"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool]
        cmd += ["--problem", str(problem), "--pnl-out", str(out)]
        print(f"   {tool}: {n_leaders:,} leaders / {n_followers:,} followers ...", flush=True)
        run = measure_child(cmd, mem_cap_gib=args.cap_gib)
        entry: dict = {"wall_s": run["wall_s"], "peak_rss_gib": run["peak_rss_gib"]}
        if run["returncode"] == 0:
            entry.update(status="ok", **json.loads(run["stdout"].strip().splitlines()[-1]))
            pnls[tool] = np.load(out)
            out.unlink()
        else:
            err = run["stderr"]
            exceeded = "MemoryError" in err or "Unable to allocate" in err
            entry["status"] = f"exceeded {args.cap_gib:g} GiB cap" if exceeded else "failed"
            entry["returncode"] = run["returncode"]
            lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("\t")]
            entry["error"] = next(
                (ln.strip() for ln in reversed(lines) if "Error" in ln), lines[-1:]
            )
            # where it broke: the innermost frames of the traceback
            frames = [ln.strip() for ln in err.splitlines() if ln.strip().startswith('File "')]
            entry["where"] = frames[-3:]
        row[tool] = entry
        print(
            f"      {entry['status']}: {entry['wall_s']:.1f} s wall, "
            f"{entry['peak_rss_gib']:.2f} GiB peak",
            flush=True,
        )
    problem.unlink()
    if len(pnls) == 2:
        diff = np.abs(pnls["ideaflow"] - pnls["vectorbt"])
        row["pnl_agreement"] = {
            "max_abs_diff": float(diff.max()),
            "max_abs_pnl": float(np.abs(pnls["ideaflow"]).max()),
            "total_follower_pnl_ideaflow": float(pnls["ideaflow"][n_leaders:].sum()),
            "total_follower_pnl_vectorbt": float(pnls["vectorbt"][n_leaders:].sum()),
        }
    return row


def sanity(seed: int) -> dict:
    """Small case in process: both tools agree on every account's PnL."""
    p = build_problem(30, 300, 400, seed)
    a, _ = run_ideaflow(p)
    b, _ = run_vectorbt(p)
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-5)
    followers = slice(int(p["n_leaders"]), None)
    return {
        "accounts": int(a.shape[0]),
        "max_abs_diff": float(np.abs(a - b).max()),
        "same_sign_followers": float(np.mean(np.sign(a[followers]) == np.sign(b[followers]))),
        "follower_pnl_ideaflow": float(a[followers].sum()),
        "follower_pnl_vectorbt": float(b[followers].sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leaders", type=int, default=1_000)
    parser.add_argument("--followers", type=int, nargs="*", default=[10_000, 99_000])
    parser.add_argument("--bars", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cap-gib", type=float, default=14.0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "vectorbt.json")
    parser.add_argument("--child", choices=["ideaflow", "vectorbt"], help=argparse.SUPPRESS)
    parser.add_argument("--problem", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pnl-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.problem, args.pnl_out)
        return
    try:
        import vectorbt
    except ImportError:
        raise SystemExit("vectorbt is not installed: pip install 'ideaflow[bench]'") from None
    if args.quick:
        args.leaders, args.followers, args.bars = 50, [500, 2_000], 500
        if args.out == HERE / "results" / "vectorbt.json":
            args.out = HERE / "results" / "vectorbt_quick.json"

    import numba
    import pandas

    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {
            "vectorbt": vectorbt.__version__,
            "numpy": np.__version__,
            "pandas": pandas.__version__,
            "numba": numba.__version__,
        },
        "args": {k: str(v) for k, v in vars(args).items() if k not in ("problem", "pnl_out")},
    }
    print("1. sanity: per-account PnL agrees on a small case ...", flush=True)
    result["sanity"] = sanity(args.seed)
    print(f"   ok: {result['sanity']}", flush=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ideaflow-vbt-"))
    work.mkdir(parents=True, exist_ok=True)
    print("2. timed runs (child processes) ...", flush=True)
    result["runs"] = [run_size(args, args.leaders, m, work) for m in args.followers]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
