"""Datasets for tests, built straight from tiny Python lists (not a test module).

`make_dataset` sorts and CSR-indexes the lists exactly as `ideaflow.data` documents, so
engine tests can state inputs by hand; `trade` makes one trade dict with defaults.
"""

from __future__ import annotations

import numpy as np

from ideaflow.data import OPEN_END, Dataset, FollowArrays, PriceArrays, TradeArrays


def make_dataset(trades, follows=(), prices=None, accounts=None, initial_equity=10_000.0):
    """Dataset from tiny Python lists (dicts), sorted and CSR-indexed as data.py says.

    trades: dicts with trade_id, trader, instrument, side, open_time, close_time (None =
    open), open_price, close_price, amount, leverage (1), fee (0), parent (trade id or None).
    follows: (follower, leader, start, end or None, allocation). prices: (instrument, time,
    price). accounts: {trader_id: initial_equity}.
    """
    accounts = dict(accounts or {})
    trader_set = {tr["trader"] for tr in trades}
    trader_set |= {f[0] for f in follows} | {f[1] for f in follows} | set(accounts)
    trader_ids = np.array(sorted(trader_set), dtype=np.int64)
    code = {int(t): i for i, t in enumerate(trader_ids)}
    inst_set = {tr["instrument"] for tr in trades} | {p[0] for p in (prices or [])}
    instruments = tuple(sorted(inst_set))
    icode = {name: i for i, name in enumerate(instruments)}
    rows = sorted(trades, key=lambda tr: (tr["open_time"], tr["trade_id"]))
    row_of = {tr["trade_id"]: i for i, tr in enumerate(rows)}

    def col(fn, dtype):
        return np.array([fn(tr) for tr in rows], dtype=dtype)

    ta = TradeArrays(
        trade_id=col(lambda tr: tr["trade_id"], np.int64),
        trader=col(lambda tr: code[tr["trader"]], np.int32),
        instrument=col(lambda tr: icode[tr["instrument"]], np.int32),
        side=col(lambda tr: tr["side"], np.int8),
        open_time=col(lambda tr: tr["open_time"], np.int64),
        close_time=col(
            lambda tr: OPEN_END if tr.get("close_time") is None else tr["close_time"], np.int64
        ),
        open_price=col(lambda tr: tr["open_price"], np.float64),
        close_price=col(
            lambda tr: np.nan if tr.get("close_price") is None else tr["close_price"], np.float64
        ),
        amount=col(lambda tr: tr["amount"], np.float64),
        leverage=col(lambda tr: tr.get("leverage", 1.0), np.float64),
        fee=col(lambda tr: tr.get("fee", 0.0), np.float64),
        parent=col(lambda tr: -1 if tr.get("parent") is None else row_of[tr["parent"]], np.int64),
    )
    n_traders = len(trader_ids)
    fl = sorted(follows, key=lambda f: (code[f[1]], f[2], code[f[0]]))
    leader = np.array([code[f[1]] for f in fl], dtype=np.int32)
    fa = FollowArrays(
        follower=np.array([code[f[0]] for f in fl], dtype=np.int32),
        leader=leader,
        start_time=np.array([f[2] for f in fl], dtype=np.int64),
        end_time=np.array([OPEN_END if f[3] is None else f[3] for f in fl], dtype=np.int64),
        allocation=np.array([f[4] for f in fl], dtype=np.float64),
        leader_indptr=np.concatenate(
            ([0], np.cumsum(np.bincount(leader, minlength=n_traders)))
        ).astype(np.int64),
    )
    pa = None
    times = [tr["open_time"] for tr in rows]
    times += [tr["close_time"] for tr in rows if tr.get("close_time") is not None]
    if prices is not None:
        pr = sorted(prices, key=lambda p: (icode[p[0]], p[1]))
        pinst = np.array([icode[p[0]] for p in pr], dtype=np.int32)
        pa = PriceArrays(
            instrument=pinst,
            time=np.array([p[1] for p in pr], dtype=np.int64),
            price=np.array([p[2] for p in pr], dtype=np.float64),
            indptr=np.concatenate(
                ([0], np.cumsum(np.bincount(pinst, minlength=len(instruments))))
            ).astype(np.int64),
        )
        times += [p[1] for p in pr]
    init = np.array([accounts.get(int(t), initial_equity) for t in trader_ids], dtype=np.float64)
    return Dataset(
        trader_ids=trader_ids,
        instruments=instruments,
        trades=ta,
        follows=fa,
        prices=pa,
        initial_equity=init,
        data_end=int(max(times)) if times else 0,
    )


def trade(trade_id, trader, open_time, close_time, open_price, close_price, amount, **kw):
    """A trade dict for make_dataset (instrument X, long, leverage 1, no fee by default)."""
    out = dict(
        trade_id=trade_id,
        trader=trader,
        instrument=kw.pop("instrument", "X"),
        side=kw.pop("side", 1),
        open_time=open_time,
        close_time=close_time,
        open_price=open_price,
        close_price=close_price,
        amount=amount,
    )
    out.update(kw)
    return out
