"""A slow, straightforward pure-Python reference replay (docs/contract.md §3-4) and random
small datasets for it (not a test module; used by the engine and generator tests).

The reference keeps an explicit event list and dictionaries and shares no code with the
engine: positions of `actual` and `mirror` replays (`ref_replay`) and the per-trader
metrics (`ref_metrics`).
"""

from __future__ import annotations

import math

import numpy as np

from builders import make_dataset
from ideaflow.data import NS_PER_DAY, OPEN_END

H = 3_600 * 10**9


# ------------------------------------------------------------------ the reference


def ref_pnl(side, leverage, amount, open_price, exit_price, fee):
    return side * leverage * amount * (exit_price / open_price - 1.0) - fee


def ref_mark(prices, instrument, t):
    """Last price at or before t of an instrument (None when there is none)."""
    bars = sorted((pt, p) for inst, pt, p in prices if inst == instrument and pt <= t)
    return bars[-1][1] if bars else None


def ref_replay(spec, strategy, depth):
    """Positions as dicts: the log (`actual`) or originals plus regenerated copies."""
    trades, follows, prices, data_end = spec["trades"], spec["follows"], spec["prices"], spec["end"]
    by_id = {tr["trade_id"]: tr for tr in trades}

    def exit_of(tr):
        if tr["close_time"] is not None:
            return tr["close_price"], False
        if prices is not None:
            mark = ref_mark(prices, tr["instrument"], data_end)
            if mark is not None:
                return mark, True
        return None, False

    def position(tr, trader, amount, fee, root, parent, hop, trade_id):
        px, marked = exit_of(tr)
        pnl = (
            0.0
            if px is None
            else ref_pnl(tr["side"], tr.get("leverage", 1.0), amount, tr["open_price"], px, fee)
        )
        return dict(
            trade_id=trade_id,
            trader=trader,
            instrument=tr["instrument"],
            side=tr["side"],
            open_time=tr["open_time"],
            close_time=tr["close_time"],
            open_price=tr["open_price"],
            close_price=tr["close_price"],
            amount=amount,
            leverage=tr.get("leverage", 1.0),
            fee=fee,
            pnl=pnl,
            ret=pnl / amount,
            marked=marked,
            root=root,
            parent=parent,
            hop=hop,
        )

    if strategy == "actual":
        out = []
        for tr in trades:
            hop, root = 0, tr
            while root.get("parent") is not None:
                root = by_id[root["parent"]]
                hop += 1
            out.append(
                position(
                    tr,
                    tr["trader"],
                    tr["amount"],
                    tr.get("fee", 0.0),
                    root["trade_id"] if hop else -1,
                    tr["parent"] if tr.get("parent") is not None else -1,
                    hop,
                    tr["trade_id"],
                )
            )
        return out, 0

    roots = sorted(
        (tr for tr in trades if tr.get("parent") is None),
        key=lambda tr: (tr["open_time"], tr["trade_id"]),
    )
    events = []
    for seq, tr in enumerate(roots):
        events.append((tr["open_time"], 1, seq))
        if tr["close_time"] is not None:
            kind = 2 if tr["close_time"] == tr["open_time"] else 0
            events.append((tr["close_time"], kind, seq))
    events.sort()
    equity = dict(spec["equity"])
    next_id = max(tr["trade_id"] for tr in trades) + 1
    positions = []
    copies_of = {}
    skipped = 0
    for t, kind, seq in events:
        tr = roots[seq]
        if kind != 1:
            for pos in [positions[i] for i in copies_of[seq]]:
                equity[pos["trader"]] += pos["pnl"]
            continue
        root_pos = position(
            tr, tr["trader"], tr["amount"], tr.get("fee", 0.0), -1, -1, 0, tr["trade_id"]
        )
        members = [len(positions)]
        positions.append(root_pos)
        reached = {tr["trader"]}
        frontier = [(tr["trader"], root_pos)]
        for hop in range(1, depth + 1):
            next_frontier = []
            for src, src_pos in sorted(frontier, key=lambda s: s[0]):
                src_equity = equity[src]
                active = [
                    f for f in follows if f[1] == src and f[2] <= t and (f[3] is None or t < f[3])
                ]
                for follower, _, _, _, allocation in sorted(active, key=lambda f: (f[2], f[0])):
                    if follower in reached:
                        continue
                    if src_equity <= 0:
                        skipped += 1
                        continue
                    reached.add(follower)
                    amount = src_pos["amount"] * allocation / src_equity
                    fee = src_pos["fee"] * amount / src_pos["amount"]
                    pos = position(
                        tr, follower, amount, fee, tr["trade_id"], src_pos["trade_id"], hop, next_id
                    )
                    next_id += 1
                    members.append(len(positions))
                    positions.append(pos)
                    next_frontier.append((follower, pos))
            frontier = next_frontier
        copies_of[seq] = members
    return positions, skipped


ANNUALIZATION = math.sqrt(365.0)


def ref_metrics(positions, spec, annualization=ANNUALIZATION):
    """Per trader: dict of docs/contract.md §3 metrics, walking explicit event lists."""
    prices, data_end = spec["prices"], spec["end"]
    out = {}
    for trader, e0 in spec["equity"].items():
        mine = [p for p in positions if p["trader"] == trader]
        events = []
        for p in mine:
            end_t = p["close_time"] if p["close_time"] is not None else data_end
            last = 0.0
            n_marks = 0
            if prices is not None and any(inst == p["instrument"] for inst, _, _ in prices):
                d = p["open_time"] // NS_PER_DAY
                while (d + 1) * NS_PER_DAY - 1 < end_t:
                    day_end = (d + 1) * NS_PER_DAY - 1
                    px = ref_mark(prices, p["instrument"], day_end)
                    if day_end >= p["open_time"] and px is not None:
                        mark = ref_pnl(
                            p["side"], p["leverage"], p["amount"], p["open_price"], px, 0.0
                        )
                        events.append((day_end, mark - last))
                        last = mark
                        n_marks += 1
                    d += 1
            if p["close_time"] is not None or p["marked"] or n_marks:
                events.append((end_t, p["pnl"] - last))
        events.sort()
        pnl = sum(p["pnl"] for p in mine)
        closed = [p for p in mine if p["close_time"] is not None]
        row = dict(
            final_equity=e0 + pnl,
            pnl=pnl,
            roi=pnl / e0,
            n_trades=len(mine),
            n_social=sum(p["parent"] >= 0 for p in mine),
            n_closed=len(closed),
            n_open=len(mine) - len(closed),
            win_rate=(sum(p["pnl"] > 0 for p in closed) / len(closed)) if closed else math.nan,
            max_drawdown=0.0,
            sharpe=math.nan,
        )
        if mine:
            times = [p["open_time"] for p in mine] + [t for t, _ in events]
            first, last_t = min(p["open_time"] for p in mine), max(times)
            # drawdown after each distinct event time
            equity, peak, mdd = e0, e0, 0.0
            for i, (t, delta) in enumerate(events):
                equity += delta
                if i + 1 < len(events) and events[i + 1][0] == t:
                    continue
                peak = max(peak, equity)
                mdd = max(mdd, (peak - equity) / peak)
            row["max_drawdown"] = mdd
            # daily returns over every day, dense within this account's range
            days = range(first // NS_PER_DAY, last_t // NS_PER_DAY + 1)
            rets, prev = [], e0
            for d in days:
                e_day = e0 + sum(v for t, v in events if t < (d + 1) * NS_PER_DAY)
                rets.append((e_day - prev) / prev if prev > 0 else 0.0)
                prev = e_day
            if len(rets) >= 2:
                std = float(np.std(rets, ddof=1))
                mean = float(np.mean(rets))
                if std > 1e-12 * abs(mean) and std > 0:
                    row["sharpe"] = mean / std * annualization
            row["first_time"], row["last_time"] = first, last_t
        else:
            row["first_time"] = row["last_time"] = np.iinfo(np.int64).min
        out[trader] = row
    return out


# ------------------------------------------------------------------ random datasets


def random_spec(seed):
    rng = np.random.default_rng(seed)
    n_traders = int(rng.integers(2, 8))
    traders = [int(x) for x in rng.choice(np.arange(1, 50), size=n_traders, replace=False)]
    instruments = ["A", "B", "C"][: int(rng.integers(1, 4))]
    n_trades = int(rng.integers(1, 25))
    trades = []
    ids = [int(x) for x in rng.choice(np.arange(1, 1000), size=n_trades, replace=False)]
    for k, tid in enumerate(ids):
        open_t = int(rng.integers(0, 96)) * H
        r = rng.random()
        close_t = (
            None if r < 0.15 else open_t if r < 0.25 else open_t + int(rng.integers(1, 72)) * H
        )
        op = float(rng.uniform(50, 150))
        cp = None if close_t is None else float(op * rng.uniform(0.6, 1.4))
        parent = None
        if k > 0 and rng.random() < 0.2:
            cand = trades[int(rng.integers(0, len(trades)))]
            if cand["open_time"] <= open_t:
                parent = cand["trade_id"]
        trades.append(
            dict(
                trade_id=tid,
                trader=traders[int(rng.integers(0, n_traders))],
                instrument=instruments[int(rng.integers(0, len(instruments)))],
                side=int(rng.choice([-1, 1])),
                open_time=open_t,
                close_time=close_t,
                open_price=op,
                close_price=cp,
                amount=float(rng.uniform(100, 6000)),
                leverage=float(rng.choice([1.0, 2.0, 5.0, 10.0])),
                fee=float(rng.choice([0.0, rng.uniform(0, 20)])),
                parent=parent,
            )
        )
    follows = []
    for _ in range(int(rng.integers(0, 3 * n_traders))):
        f, leader = (int(x) for x in rng.choice(traders, size=2, replace=False))
        start = int(rng.integers(0, 96)) * H
        end = None if rng.random() < 0.5 else start + int(rng.integers(1, 96)) * H
        if any(
            x[0] == f and x[1] == leader and x[2] < (end or OPEN_END) and start < (x[3] or OPEN_END)
            for x in follows
        ):
            continue  # intervals of a pair must not overlap
        follows.append((f, leader, start, end, float(rng.uniform(100, 5000))))
    prices = None
    if rng.random() < 0.6:
        priced = instruments[: int(rng.integers(1, len(instruments) + 1))]
        prices = [
            (inst, int(t) * H, float(rng.uniform(50, 150)))
            for inst in priced
            for t in sorted(set(rng.integers(0, 200, size=6).tolist()))
        ]
    accounts = {t: float(rng.choice([10_000.0, 3_000.0])) for t in traders if rng.random() < 0.3}
    ds = make_dataset(trades, follows, prices=prices, accounts=accounts)
    equity = {int(t): float(e) for t, e in zip(ds.trader_ids, ds.initial_equity)}
    spec = dict(trades=trades, follows=follows, prices=prices, end=ds.data_end, equity=equity)
    return ds, spec


def spec_from_dataset(ds):
    """The reference's input (trade dicts, follow tuples, price tuples, equities by trader
    id) from a loaded `Dataset`, for checking a platform-size log against the reference."""
    t = ds.trades
    ids = ds.trader_ids
    trades = [
        dict(
            trade_id=int(t.trade_id[i]),
            trader=int(ids[t.trader[i]]),
            instrument=ds.instruments[t.instrument[i]],
            side=int(t.side[i]),
            open_time=int(t.open_time[i]),
            close_time=None if t.close_time[i] == OPEN_END else int(t.close_time[i]),
            open_price=float(t.open_price[i]),
            close_price=None if t.close_time[i] == OPEN_END else float(t.close_price[i]),
            amount=float(t.amount[i]),
            leverage=float(t.leverage[i]),
            fee=float(t.fee[i]),
            parent=None if t.parent[i] < 0 else int(t.trade_id[t.parent[i]]),
        )
        for i in range(len(t))
    ]
    f = ds.follows
    follows = [
        (
            int(ids[f.follower[j]]),
            int(ids[f.leader[j]]),
            int(f.start_time[j]),
            None if f.end_time[j] == OPEN_END else int(f.end_time[j]),
            float(f.allocation[j]),
        )
        for j in range(len(f))
    ]
    prices = None
    if ds.prices is not None:
        p = ds.prices
        prices = [
            (ds.instruments[p.instrument[k]], int(p.time[k]), float(p.price[k]))
            for k in range(len(p))
        ]
    equity = {int(i): float(e) for i, e in zip(ids, ds.initial_equity)}
    return dict(trades=trades, follows=follows, prices=prices, end=ds.data_end, equity=equity)
