"""A plain pandas implementation of the `mirror` replay (depth 1) and its account metrics.

This is the baseline the Numba engine is measured against. It is what a researcher would
write with DataFrames: merge every original trade with the follow intervals of its
trader, keep the active ones, size each copy on the leader's realised equity with
`merge_asof`, and aggregate per account. Because a leader's equity includes the copies it
received (whose sizes depend on *its* leaders' equity), the sizing is iterated to a fixed
point; the number of iterations is reported. Memory grows with the merged copy table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400 * 1_000_000_000
FOREVER = np.iinfo(np.int64).max


def _ns(series: pd.Series) -> np.ndarray:
    """Timestamps as int64 ns (null -> FOREVER)."""
    values = series.dt.tz_localize("UTC") if series.dt.tz is None else series.dt.tz_convert("UTC")
    naive = values.dt.tz_localize(None).astype("datetime64[ns]")
    missing = naive.isna().to_numpy()
    out = naive.fillna(pd.Timestamp(0)).astype("int64").to_numpy(copy=True)
    out[missing] = FOREVER
    return out


def mirror_replay(
    trades: pd.DataFrame,
    follows: pd.DataFrame,
    initial_equity: float = 10_000.0,
    max_iter: int = 50,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Copies (one row per copy) and account metrics; also returns the iterations used."""
    orig = trades[trades.get("parent_trade_id", pd.Series(pd.NA, index=trades.index)).isna()]
    orig = pd.DataFrame(
        {
            "trade_id": orig["trade_id"].to_numpy(),
            "trader_id": orig["trader_id"].to_numpy(),
            "open_time": _ns(orig["open_time"]),
            "close_time": _ns(orig["close_time"]),
            "amount": orig["amount"].to_numpy(),
            "pnl": (
                orig["side"].to_numpy()
                * orig["leverage"].to_numpy()
                * orig["amount"].to_numpy()
                * (orig["close_price"].to_numpy() / orig["open_price"].to_numpy() - 1.0)
                - orig["fee"].to_numpy()
            ),
        }
    )
    closed = orig["close_time"] != FOREVER
    orig.loc[~closed, "pnl"] = 0.0  # no prices: open trades are left unmarked
    orig["ret"] = orig["pnl"] / orig["amount"]
    fol = pd.DataFrame(
        {
            "follower_id": follows["follower_id"].to_numpy(),
            "leader_id": follows["leader_id"].to_numpy(),
            "start_time": _ns(follows["start_time"]),
            "end_time": _ns(follows["end_time"]),
            "allocation": follows["allocation"].to_numpy(),
        }
    )
    cand = orig.merge(fol, left_on="trader_id", right_on="leader_id", how="inner")
    cand = cand[(cand["start_time"] <= cand["open_time"]) & (cand["open_time"] < cand["end_time"])]
    cand = cand.sort_values(["open_time", "trade_id", "follower_id"], kind="stable")
    cand = cand.reset_index(drop=True)
    copy_amount = np.zeros(len(cand))
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        events = pd.concat(
            [
                pd.DataFrame(
                    {"account": orig["trader_id"], "time": orig["close_time"], "pnl": orig["pnl"]}
                ),
                pd.DataFrame(
                    {
                        "account": cand["follower_id"],
                        "time": cand["close_time"],
                        "pnl": copy_amount * cand["ret"].to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        )
        events = events[events["time"] != FOREVER].sort_values("time", kind="stable")
        events["cum"] = events.groupby("account")["pnl"].cumsum()
        # equity at open: closes at or before t included
        last = events.groupby(["account", "time"], sort=False)["cum"].last().reset_index()
        last = last.sort_values("time", kind="stable")
        query = pd.DataFrame(
            {"account": cand["leader_id"], "time": cand["open_time"], "row": np.arange(len(cand))}
        ).sort_values("time", kind="stable")
        joined = pd.merge_asof(query, last, on="time", by="account", direction="backward")
        equity = np.empty(len(cand))
        equity[joined["row"].to_numpy()] = initial_equity + joined["cum"].fillna(0.0).to_numpy()
        new_amount = np.where(
            equity > 0,
            cand["amount"].to_numpy()
            * cand["allocation"].to_numpy()
            / np.where(equity > 0, equity, 1.0),
            0.0,
        )
        if np.allclose(new_amount, copy_amount, rtol=1e-12, atol=1e-9):
            copy_amount = new_amount
            break
        copy_amount = new_amount
    made = copy_amount > 0
    copies = pd.DataFrame(
        {
            "root_trade_id": cand["trade_id"].to_numpy()[made],
            "trader_id": cand["follower_id"].to_numpy()[made],
            "open_time": cand["open_time"].to_numpy()[made],
            "close_time": cand["close_time"].to_numpy()[made],
            "amount": copy_amount[made],
            "pnl": copy_amount[made] * cand["ret"].to_numpy()[made],
        }
    )
    positions = pd.concat(
        [
            orig[["trader_id", "open_time", "close_time", "pnl"]],
            copies[["trader_id", "open_time", "close_time", "pnl"]],
        ],
        ignore_index=True,
    )
    return copies, account_metrics(positions, initial_equity), iterations


def account_metrics(
    positions: pd.DataFrame, initial_equity: float, annualization: float = float(np.sqrt(365.0))
) -> pd.DataFrame:
    """pnl, roi, n_trades, win_rate, max_drawdown and sharpe per account, with groupby."""
    is_closed = positions["close_time"] != FOREVER
    grouped = positions.groupby("trader_id")
    out = pd.DataFrame({"n_trades": grouped.size(), "pnl": grouped["pnl"].sum()})
    closed = positions[is_closed]
    wins = (closed["pnl"] > 0).groupby(closed["trader_id"]).mean()
    out["win_rate"] = wins
    out["roi"] = out["pnl"] / initial_equity
    ev = closed.sort_values(["trader_id", "close_time"], kind="stable")
    equity = initial_equity + ev.groupby("trader_id")["pnl"].cumsum()
    peak = np.maximum(equity.groupby(ev["trader_id"]).cummax(), initial_equity)
    out["max_drawdown"] = ((peak - equity) / peak).groupby(ev["trader_id"]).max()
    out["max_drawdown"] = out["max_drawdown"].fillna(0.0)
    day = ev["close_time"] // NS_PER_DAY
    daily = ev.groupby([ev["trader_id"], day])["pnl"].sum().reset_index()
    daily.columns = ["trader_id", "day", "pnl"]
    daily["e_end"] = initial_equity + daily.groupby("trader_id")["pnl"].cumsum()
    daily["e_prev"] = daily["e_end"] - daily["pnl"]
    daily["r"] = np.where(daily["e_prev"] > 0, daily["pnl"] / daily["e_prev"], 0.0)
    first = positions.groupby("trader_id")["open_time"].min() // NS_PER_DAY
    last_t = np.where(is_closed, positions["close_time"], positions["open_time"])
    last = (
        pd.Series(last_t, index=positions.index).groupby(positions["trader_id"]).max() // NS_PER_DAY
    )
    n_days = (last - first + 1).astype(float)
    s1 = daily.groupby("trader_id")["r"].sum().reindex(out.index, fill_value=0.0)
    s2 = (daily["r"] ** 2).groupby(daily["trader_id"]).sum().reindex(out.index, fill_value=0.0)
    mean = s1 / n_days
    var = (s2 - n_days * mean**2) / (n_days - 1)
    std = np.sqrt(var.where(var > 0))
    out["sharpe"] = (mean / std * annualization).where(n_days >= 2)
    return out.reset_index()
