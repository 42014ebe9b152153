"""One subject's own rows where subjects share an account (docs/strategies.md, "Shared
accounts").

Copy strategies keep one account for all subjects with the same leaders in every period:
`trades.parquet` and `decisions.parquet` hold its rows once, under the subject named in
`accounts.parquet`'s `positions_of`, and each subject holds those rows times its
`holding_scale` (its initial equity over the account's, times its exposure-matching
factor over the account's). These helpers give any subject its own rows:

- `subject_positions(result, subject_id)` / `subject_decisions(result, subject_id)`: one
  subject's positions (amount, fee, PnL scaled) and decisions (size scaled), under its own
  id;
- `expand_shared(result, "trades" | "decisions")`: every subject's rows, one block per
  subject in subject-id order (trade ids then repeat across subjects: a row is keyed by
  (trader_id or subject_id, trade_id));
- `write_expanded(result, out_dir)`: the expanded views as `trades_by_subject.parquet`
  and `decisions_by_subject.parquet`.

`result` is a `BacktestResult` or a directory written by `backtest` / `compare`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ideaflow.errors import ParameterError
from ideaflow.io import write_parquet_atomic

TABLES = ("trades", "decisions")
# the columns that hold money (or a size) and scale with the holding
SCALED = {"trades": ("amount", "fee", "pnl"), "decisions": ("size",)}
OWNER = {"trades": "trader_id", "decisions": "subject_id"}


def _table(result: Any, name: str) -> pd.DataFrame:
    if isinstance(result, str | Path):
        path = Path(result) / f"{name}.parquet"
        if not path.exists():
            raise ParameterError(f"result: expected {path} (a backtest output); not found")
        return pd.read_parquet(path)
    table = getattr(result, name, None)
    if table is None:
        raise ParameterError(f"result: expected a `{name}` table; found none")
    return table


def holdings(result: Any) -> pd.DataFrame:
    """Per subject (index `trader_id`): `positions_of` and `holding_scale`.

    Outputs without those columns (every account its own) hold their own rows at 1.
    """
    accounts = _table(result, "accounts").set_index("trader_id")
    if "positions_of" not in accounts:
        out = pd.DataFrame({"positions_of": accounts.index}, index=accounts.index)
        out["holding_scale"] = 1.0
        return out
    out = accounts[["positions_of"]].copy()
    if "holding_scale" in accounts:
        out["holding_scale"] = accounts["holding_scale"].astype(float)
    else:
        equity = accounts["initial_equity"].astype(float)
        out["holding_scale"] = equity / equity.loc[out["positions_of"]].to_numpy()
    return out


def _check_table(table: str) -> str:
    if table not in TABLES:
        raise ParameterError(f"table: expected one of {', '.join(TABLES)}; found {table!r}")
    return table


def _rows_of(result: Any, table: str, subject_id: int, held: pd.DataFrame) -> pd.DataFrame:
    if subject_id not in held.index:
        ids = [str(i) for i in held.index[:2000]]
        close = difflib.get_close_matches(str(subject_id), ids, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ParameterError(
            f"subject_id: {subject_id} is not a subject of this result "
            f"({len(held)} subjects, e.g. {', '.join(ids[:5])}){hint}"
        )
    owner = OWNER[table]
    frame = _table(result, table)
    held_row = held.loc[subject_id].to_dict()
    source = int(held_row["positions_of"])
    rows = frame[frame[owner] == source].copy()
    rows[owner] = np.int64(subject_id)
    scale = float(held_row["holding_scale"])
    for column in SCALED[table]:
        rows[column] = rows[column] * scale
    return rows.reset_index(drop=True)


def subject_positions(result: Any, subject_id: int) -> pd.DataFrame:
    """The subject's own positions (trades rows, amount, fee and PnL at its scale)."""
    return _rows_of(result, "trades", int(subject_id), holdings(result))


def subject_decisions(result: Any, subject_id: int) -> pd.DataFrame:
    """The subject's own decisions (its account's, `size` at its scale)."""
    return _rows_of(result, "decisions", int(subject_id), holdings(result))


def expand_shared(result: Any, table: str = "decisions") -> pd.DataFrame:
    """Every subject's own rows of `table` ("trades" or "decisions"), subject by subject."""
    table = _check_table(table)
    held = holdings(result).sort_index()
    owner = OWNER[table]
    frame = _table(result, table)
    mapping = pd.DataFrame(
        {
            "subject": held.index.to_numpy(np.int64),
            owner: held["positions_of"].to_numpy(np.int64),
            "holding_scale": held["holding_scale"].to_numpy(float),
        }
    )
    out = mapping.merge(frame, on=owner, how="inner", sort=False)
    out = out.sort_values("subject", kind="stable")
    for column in SCALED[table]:
        out[column] = out[column] * out["holding_scale"]
    out[owner] = out.pop("subject")
    out = out.drop(columns="holding_scale")[list(frame.columns)]
    return out.reset_index(drop=True)


def write_expanded(result: Any, out_dir: str | Path) -> list[Path]:
    """`trades_by_subject.parquet` and `decisions_by_subject.parquet` (where the result has
    decisions) in `out_dir`, written atomically; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in TABLES:
        try:
            _table(result, table)
        except ParameterError:
            continue
        path = out / f"{table}_by_subject.parquet"
        write_parquet_atomic(expand_shared(result, table), path)
        written.append(path)
    return written
