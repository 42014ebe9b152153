"""Trader style features and their clustering (shared by docs/contract.md §5 strategies and §6 analytics).

A trader's *style* over a window `[start, end)` is computed from its positions closed in
that window (so nothing after `end` is ever read — the walk-forward strategies call this
with `end` = the rebalance time):

- `inst_share_1..4`: share of its positions in each of the window's four most traded
  instruments (the platform-wide ranking of the window, ties by instrument code);
- `inst_concentration`: Herfindahl index of its own instrument shares (1 = one instrument);
- `long_share`: share of long positions;
- `log_holding_hours`: mean of `log1p(holding time in hours)`;
- `log_trade_rate`: `log1p(positions closed per day of the window)`;
- `log_leverage`: mean `log(leverage)`;
- `pnl_corr`: Pearson correlation of its daily realised PnL (by close day) with the daily
  realised PnL of the rest of the platform (everyone else, so big traders do not correlate
  with themselves). Days without closes count as 0; the sums are accumulated sparsely, per
  (trader, day) with a close, never as a dense trader x day matrix.

Every trader with at least `min_history` closed positions in the window gets a row. The
result also carries each row's number of closed positions and realised PnL in the window
(used for trailing performance). `cluster_styles` scales the features (StandardScaler)
and clusters them with KMeans (2 initialisations, at most 100 iterations, fitted on a
seeded subsample of at most 4,000 rows when there are more, then every row labelled by
its nearest centre); both are deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ideaflow.data import NS_PER_DAY, Dataset

if TYPE_CHECKING:
    from sklearn.preprocessing import StandardScaler

N_TOP_INSTRUMENTS = 4
MAX_FIT_ROWS = 4000  # KMeans is fitted on at most this many rows (seeded subsample)
FEATURE_NAMES: tuple[str, ...] = (
    *(f"inst_share_{i + 1}" for i in range(N_TOP_INSTRUMENTS)),
    "inst_concentration",
    "long_share",
    "log_holding_hours",
    "log_trade_rate",
    "log_leverage",
    "pnl_corr",
)


@dataclass(frozen=True, eq=False)
class StyleFeatures:
    """Style vectors of the traders with enough history in a window.

    traders: int32 trader codes (ascending); matrix: float64 (n, n_features);
    names: feature names; n_closed: closed positions in the window; pnl: their realised PnL.
    """

    traders: np.ndarray
    matrix: np.ndarray
    names: tuple[str, ...] = FEATURE_NAMES
    n_closed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pnl: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))

    def __len__(self) -> int:
        return int(self.traders.shape[0])


@dataclass(frozen=True, eq=False)
class PositionColumns:
    """The position columns style features read (from the log or from an engine Book)."""

    trader: np.ndarray
    instrument: np.ndarray
    side: np.ndarray
    open_time: np.ndarray
    close_time: np.ndarray
    leverage: np.ndarray
    pnl: np.ndarray
    close_order: np.ndarray  # row indices sorted by close_time (stable)


def logged_pnl(ds: Dataset) -> np.ndarray:
    """Realised PnL of every logged trade (docs/contract.md §3); NaN for trades still open."""
    t = ds.trades
    with np.errstate(invalid="ignore"):
        pnl = t.side * t.leverage * t.amount * (t.close_price / t.open_price - 1.0) - t.fee
    return np.where(t.is_closed, pnl, np.nan)


def position_columns(ds: Dataset, book: Any = None) -> PositionColumns:
    """Columns of the log (default) or of an engine `Book` (account = trader code)."""
    if book is None:
        t = ds.trades
        trader, instrument, side = t.trader, t.instrument, t.side
        open_time, close_time, leverage = t.open_time, t.close_time, t.leverage
        pnl = logged_pnl(ds)
    else:
        trader, instrument, side = book.account, book.instrument, book.side
        open_time, close_time, leverage = book.open_time, book.close_time, book.leverage
        pnl = book.pnl
    order = np.argsort(close_time, kind="stable")
    return PositionColumns(
        trader=np.asarray(trader, dtype=np.int32),
        instrument=np.asarray(instrument, dtype=np.int32),
        side=np.asarray(side, dtype=np.int8),
        open_time=np.asarray(open_time, dtype=np.int64),
        close_time=np.asarray(close_time, dtype=np.int64),
        leverage=np.asarray(leverage, dtype=np.float64),
        pnl=np.asarray(pnl, dtype=np.float64),
        close_order=order,
    )


def closed_in(cols: PositionColumns, start: int, end: int) -> np.ndarray:
    """Row indices of the positions closed in [start, end), in close-time order."""
    times = cols.close_time[cols.close_order]
    lo, hi = np.searchsorted(times, [start, end], side="left")
    return cols.close_order[lo:hi]


def style_features(
    ds: Dataset,
    start: int,
    end: int,
    *,
    min_history: int = 5,
    book: Any = None,
    columns: PositionColumns | None = None,
) -> StyleFeatures:
    """Style vectors of every trader with >= min_history positions closed in [start, end).

    `book` (an engine Book, account = trader code) replaces the log as the source of
    positions; `columns` (from `position_columns`) lets a caller that computes many windows
    prepare the sorted columns once.
    """
    cols = columns if columns is not None else position_columns(ds, book)
    n_traders = ds.n_traders
    rows = closed_in(cols, int(start), int(end))
    counts_all = np.bincount(cols.trader[rows], minlength=n_traders)
    traders = np.flatnonzero(counts_all >= max(int(min_history), 1)).astype(np.int32)
    n = traders.shape[0]
    matrix = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
    if n == 0:
        return StyleFeatures(
            traders, matrix, FEATURE_NAMES, np.zeros(0, np.int64), np.zeros(0, np.float64)
        )

    n_days = max(1, int(-(-(int(end) - int(start)) // NS_PER_DAY)))
    pnl_all = np.nan_to_num(cols.pnl[rows])
    day_all = (cols.close_time[rows] - int(start)) // NS_PER_DAY
    platform = np.bincount(day_all, weights=pnl_all, minlength=n_days)
    inst_counts = np.bincount(cols.instrument[rows], minlength=ds.n_instruments)

    # restrict to the rows of the eligible traders, with a local index 0..n-1
    local_of = np.full(n_traders, -1, dtype=np.int64)
    local_of[traders] = np.arange(n)
    local = local_of[cols.trader[rows]]
    keep = local >= 0
    rows, local = rows[keep], local[keep]
    pnl, day = pnl_all[keep], day_all[keep]
    count = np.bincount(local, minlength=n).astype(np.float64)

    instrument = cols.instrument[rows].astype(np.int64)
    top = np.argsort(-inst_counts, kind="stable")[:N_TOP_INSTRUMENTS]
    for j, code in enumerate(top):
        if inst_counts[code] > 0:
            matrix[:, j] = np.bincount(local[instrument == code], minlength=n) / count
    pair, pair_count = np.unique(local * ds.n_instruments + instrument, return_counts=True)
    share = pair_count / count[pair // ds.n_instruments]
    matrix[:, 4] = np.bincount(pair // ds.n_instruments, weights=share**2, minlength=n)
    matrix[:, 5] = np.bincount(local, weights=(cols.side[rows] > 0), minlength=n) / count
    hours = (cols.close_time[rows] - cols.open_time[rows]) / 3.6e12
    matrix[:, 6] = np.bincount(local, weights=np.log1p(hours), minlength=n) / count
    matrix[:, 7] = np.log1p(count / n_days)
    matrix[:, 8] = np.bincount(local, weights=np.log(cols.leverage[rows]), minlength=n) / count
    matrix[:, 9] = _corr_with_rest(local, day, pnl, platform, n, n_days)
    total_pnl = np.bincount(local, weights=pnl, minlength=n)
    return StyleFeatures(traders, matrix, FEATURE_NAMES, count.astype(np.int64), total_pnl)


def _corr_with_rest(
    local: np.ndarray, day: np.ndarray, pnl: np.ndarray, platform: np.ndarray, n: int, n_days: int
) -> np.ndarray:
    """Correlation of each trader's daily PnL with the platform's minus its own."""
    key, inverse = np.unique(local * n_days + day, return_inverse=True)
    x = np.bincount(inverse, weights=pnl)  # one entry per (trader, day) with a close
    who, when = key // n_days, key % n_days
    sx = np.bincount(who, weights=x, minlength=n)
    sxx = np.bincount(who, weights=x * x, minlength=n)
    sxy = np.bincount(who, weights=x * platform[when], minlength=n)
    sy, syy = platform.sum(), (platform**2).sum()
    so = sy - sx
    soo = syy - 2.0 * sxy + sxx
    sxo = sxy - sxx
    var_x = n_days * sxx - sx * sx
    var_o = n_days * soo - so * so
    denom = np.sqrt(np.clip(var_x, 0.0, None) * np.clip(var_o, 0.0, None))
    scale = np.maximum(np.abs(sxx), 1.0) * np.maximum(np.abs(soo), 1.0) * n_days * n_days
    ok = denom > 1e-12 * np.sqrt(scale)
    out = np.zeros(n, dtype=np.float64)
    out[ok] = (n_days * sxo[ok] - sx[ok] * so[ok]) / denom[ok]
    return np.clip(out, -1.0, 1.0)


@dataclass(frozen=True, eq=False)
class StyleClusters:
    """A fitted clustering: labels per row, centers in scaled space, and the scaler."""

    labels: np.ndarray  # int32 per row
    centers: np.ndarray  # (n_clusters, n_features), scaled space
    scaled: np.ndarray  # rows in scaled space
    scaler: StandardScaler | None

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        if self.scaler is None:
            return np.zeros_like(matrix)
        return self.scaler.transform(matrix)


def _distinct_rows(matrix: np.ndarray, at_least: int) -> int:
    """Number of distinct rows, counted up to `at_least` (1 when asked for at most 1).

    Rows are compared through a fixed random projection (distinct rows project apart
    almost surely), which is far cheaper than sorting whole rows.
    """
    if at_least <= 1 or matrix.shape[0] <= 1:
        return min(matrix.shape[0], 1)
    weights = np.random.default_rng(12345).normal(size=matrix.shape[1])
    return int(np.unique(np.round(matrix, 12) @ weights).shape[0])


def fit_style_clusters(matrix: np.ndarray, n_clusters: int, *, seed: int = 0) -> StyleClusters:
    """StandardScaler + KMeans; never more clusters than distinct rows (n_clusters=1:
    scaling only)."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    matrix = np.asarray(matrix, dtype=np.float64)
    n = matrix.shape[0]
    if n == 0:
        return StyleClusters(
            np.zeros(0, np.int32),
            np.zeros((0, matrix.shape[1])),
            np.zeros((0, matrix.shape[1])),
            None,
        )
    scaler = StandardScaler().fit(matrix)
    scaled = scaler.transform(matrix)
    # KMeans warns (an error under -W error) when asked for more clusters than distinct points
    n_fit = max(1, min(int(n_clusters), _distinct_rows(scaled, int(n_clusters))))
    if n_fit == 1:
        return StyleClusters(
            np.zeros(n, np.int32), scaled.mean(axis=0, keepdims=True), scaled, scaler
        )
    # large candidate sets: fit on a seeded subsample, then label everyone (the centres of
    # a few thousand points are stable, and the fit stays fast at every rebalance)
    fit_rows = scaled
    if n > MAX_FIT_ROWS:
        rng = np.random.default_rng(int(seed))
        fit_rows = scaled[np.sort(rng.choice(n, MAX_FIT_ROWS, replace=False))]
        if _distinct_rows(fit_rows, n_fit) < n_fit:
            fit_rows = scaled
    model = KMeans(n_clusters=n_fit, n_init=2, max_iter=100, random_state=int(seed))
    # one thread: these fits are small, and OpenMP's start-up and synchronisation cost far
    # more than the work (and oversubscribe cores shared with numba and joblib workers)
    with threadpool_limits(1):
        model.fit(fit_rows)
        labels = model.predict(scaled).astype(np.int32)
    return StyleClusters(labels, model.cluster_centers_, scaled, scaler)


def cluster_styles(features: StyleFeatures, n_clusters: int, *, seed: int = 0) -> np.ndarray:
    """Cluster labels (int32, one per row of `features`): StandardScaler + KMeans."""
    return fit_style_clusters(features.matrix, n_clusters, seed=seed).labels
