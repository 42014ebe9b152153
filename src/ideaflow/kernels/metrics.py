"""Per-account kernels (docs/contract.md §3): equity events, metrics, daily PnL, equity index.

Everything is computed from each account's own sorted events, so work and memory grow
with positions (and position-days when marking to prices), never with accounts x days.

Books are ordered by time, not by account. A stable counting sort scatters a compact
record per position into account order (`group_positions_nb`, one write per position,
in parallel over chunks of rows); the per-account kernels then read their records sequentially and
in parallel. (Reading book columns through a permutation instead costs a cache miss per
column and position.)

A book's columns come in two sizes (`ideaflow.records.RootedBook`): per position
(account, amount, PnL, social) and per root (times, mark, instrument, side, leverage,
open price), read through `root_row`, each position's root. An empty `root_row` means
every position is its own root (a plain `Book`: every column per position).

An *event* changes an account's equity E: the close of a position (its PnL, minus what
was already marked), the mark of an open position at the end of the data, and, when
prices are given, the mark of every open position at each UTC day end (the last
nanosecond of the day, priced at the last bar at or before it).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.data import NO_TIME, NS_PER_DAY, OPEN_END

FLAG_CLOSED = 1
FLAG_SOCIAL = 2
FLAG_MARKED = 4

# one position, in account order (packed: fewer bytes to write and read)
POSITION_RECORD = np.dtype(
    [
        ("open_time", np.int64),
        ("end_time", np.int64),  # close time, or the end of the data when open
        ("pnl", np.float64),
        ("row", np.int32),  # row in the book (for marks to prices)
        ("flags", np.uint8),
    ]
)


# rows per chunk of the parallel scatter (fixed, so results do not depend on threads)
_GROUP_CHUNK = 1 << 18


@njit(cache=True, nogil=True, parallel=True)
def group_positions_nb(
    account,
    root_row,
    n_accounts,
    open_time,
    close_time,
    pnl,
    social,
    marked,
    data_end,
):
    """Position records (POSITION_RECORD) in account order, and their CSR indptr.

    `account`, `pnl`, `social`: per position; `open_time`, `close_time`, `marked`: per
    root, read at `root_row[i]` (at `i` when `root_row` is empty).

    A stable counting sort on the account code: directly when there are few accounts,
    else by the high bits first, then by the low 11 bits within each high bucket. Every
    scatter writes to a few thousand sequential streams, which stays in cache (a direct
    scatter into 1.6 million accounts costs a cache miss per position). The high-bit
    scatter runs in parallel over fixed chunks of rows (each chunk writes its own
    stretch of every bucket, so order is kept), the low-bit sorts in parallel over
    buckets. Within an account, records keep the book's row order.
    """
    n = account.shape[0]
    indptr = np.zeros(n_accounts + 1, dtype=np.int64)
    bits = 1
    while (1 << bits) < n_accounts:
        bits += 1
    records = np.empty(n, dtype=POSITION_RECORD)
    if bits <= 12:
        for i in range(n):
            indptr[account[i] + 1] += 1
        for a in range(n_accounts):
            indptr[a + 1] += indptr[a]
        fill = indptr[:-1].copy()
        for i in range(n):
            a = account[i]
            p = fill[a]
            fill[a] = p + 1
            _write_record(
                records, p, i, root_row, open_time, close_time, pnl, social, marked, data_end
            )
        return indptr, records
    # two levels: a stable scatter by the high bits into the final array, then a stable
    # counting sort by the low bits inside each high bucket through a small scratch
    # buffer that stays in cache (no second full-size array to fault in)
    low_bits = min(11, bits)
    low_mask = (1 << low_bits) - 1
    n_low = 1 << low_bits
    n_high = (n_accounts >> low_bits) + 1
    n_chunks = (n + _GROUP_CHUNK - 1) // _GROUP_CHUNK
    # per chunk and bucket: rows, then where the chunk's stretch of the bucket starts
    offsets = np.zeros((n_chunks, n_high), dtype=np.int64)
    for c in prange(n_chunks):
        for i in range(c * _GROUP_CHUNK, min(n, (c + 1) * _GROUP_CHUNK)):
            offsets[c, account[i] >> low_bits] += 1
    bucket_start = np.empty(n_high + 1, dtype=np.int64)
    total = 0
    for b in range(n_high):
        bucket_start[b] = total
        for c in range(n_chunks):
            rows = offsets[c, b]
            offsets[c, b] = total
            total += rows
    bucket_start[n_high] = total
    keys = np.empty(n, dtype=np.int32)
    for c in prange(n_chunks):
        start = offsets[c]
        for i in range(c * _GROUP_CHUNK, min(n, (c + 1) * _GROUP_CHUNK)):
            a = account[i]
            b = a >> low_bits
            p = start[b]
            start[b] = p + 1
            keys[p] = a
            _write_record(
                records, p, i, root_row, open_time, close_time, pnl, social, marked, data_end
            )
    for b in prange(n_high):
        lo = bucket_start[b]
        hi = bucket_start[b + 1]
        low_start = np.zeros(n_low + 1, dtype=np.int64)
        for p in range(lo, hi):
            low_start[(keys[p] & low_mask) + 1] += 1
        for c in range(n_low):
            low_start[c + 1] += low_start[c]
        # the bucket's accounts end where their low-bit counts say (indptr[0] = 0)
        base = b << low_bits
        for c in range(min(n_low, n_accounts - base)):
            indptr[base + c + 1] = lo + low_start[c + 1]
        if hi - lo <= 1:
            continue
        scratch = np.empty(hi - lo, dtype=POSITION_RECORD)
        for p in range(lo, hi):
            c = keys[p] & low_mask
            scratch[low_start[c]] = records[p]
            low_start[c] += 1
        records[lo:hi] = scratch
    return indptr, records


@njit(cache=True, nogil=True)
def _write_record(records, p, i, root_row, open_time, close_time, pnl, social, marked, data_end):
    rec = records[p]
    r = root_row[i] if root_row.shape[0] > 0 else i
    closed = close_time[r] != OPEN_END
    rec.open_time = open_time[r]
    rec.end_time = close_time[r] if closed else data_end
    rec.pnl = pnl[i]
    rec.row = i
    flags = 0
    if closed:
        flags |= FLAG_CLOSED
    if social[i]:
        flags |= FLAG_SOCIAL
    if marked[r]:
        flags |= FLAG_MARKED
    rec.flags = flags


@njit(cache=True, nogil=True)
def _n_mark_days(open_t, end_t, first_day):
    # day ends D_d = (d+1)*NS - 1 with open_t <= D_d < end_t and a price at or before D_d
    d_lo = max(open_t // NS_PER_DAY, first_day)
    d_hi = end_t // NS_PER_DAY - 1
    return max(d_hi - d_lo + 1, 0), d_lo


@njit(cache=True, nogil=True)
def _sort_events(times, deltas):
    m = times.shape[0]
    ordered = True
    for i in range(1, m):
        if times[i] < times[i - 1]:
            ordered = False
            break
    if ordered:
        return  # the usual case: books are in time order
    if m <= 32:
        insertion_sort_pairs_nb(times, deltas, m)
        return
    merge_sort_nb(times, deltas)


@njit(cache=True, nogil=True)
def lower_bound_nb(values, lo, hi, x):
    """First position in the sorted slice values[lo:hi] whose value is >= x (hi: none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def upper_bound_nb(values, lo, hi, x):
    """First position in the sorted slice values[lo:hi] whose value is > x (hi: none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def insertion_sort_pairs_nb(keys, values, m):
    """Stable in-place sort of the first m (key, value) pairs by key: for short runs,
    where it beats merge_sort_nb and allocates nothing."""
    for i in range(1, m):
        key = keys[i]
        value = values[i]
        j = i - 1
        while j >= 0 and keys[j] > key:
            keys[j + 1] = keys[j]
            values[j + 1] = values[j]
            j -= 1
        keys[j + 1] = key
        values[j + 1] = value


@njit(cache=True, nogil=True)
def merge_sort_nb(times, deltas):
    """Sort `times` in place (stable, bottom-up merge sort), permuting `deltas` alike.

    Lighter to compile than numpy's argsort inside the parallel kernels.
    """
    m = times.shape[0]
    src_t = times.copy()
    src_v = deltas.copy()
    dst_t = np.empty_like(times)
    dst_v = np.empty_like(deltas)
    width = 1
    while width < m:
        for lo in range(0, m, 2 * width):
            mid = min(lo + width, m)
            hi = min(lo + 2 * width, m)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if src_t[j] < src_t[i]:
                    dst_t[k] = src_t[j]
                    dst_v[k] = src_v[j]
                    j += 1
                else:
                    dst_t[k] = src_t[i]
                    dst_v[k] = src_v[i]
                    i += 1
                k += 1
            while i < mid:
                dst_t[k] = src_t[i]
                dst_v[k] = src_v[i]
                i += 1
                k += 1
            while j < hi:
                dst_t[k] = src_t[j]
                dst_v[k] = src_v[j]
                j += 1
                k += 1
        src_t, dst_t = dst_t, src_t
        src_v, dst_v = dst_v, src_v
        width *= 2
    times[:] = src_t
    deltas[:] = src_v


@njit(cache=True, nogil=True)
def _account_events(records, lo, hi, marks):
    """Equity events (times, deltas) of the records [lo, hi), sorted by time.

    Each position contributes its day-end marks (when `use_marks` and its instrument has
    prices), then its close (PnL minus the last mark) or, if still open, its mark at the
    end of the data. The deltas of a position sum to its PnL.

    `marks` = (use_marks, day_table, day0, first_price_day, root_row, instrument,
    side_leverage, amount, open_price): `amount` per position, `instrument`,
    `side_leverage` (side * leverage) and `open_price` per root (see the module).
    """
    (
        use_marks,
        day_table,
        day0,
        first_price_day,
        root_row,
        instrument,
        side_leverage,
        amount,
        open_price,
    ) = marks
    rooted = root_row.shape[0] > 0
    # without marks a position has at most one event: no counting pass
    count = hi - lo
    if use_marks:
        count = 0
        for q in range(lo, hi):
            rec = records[q]
            n_days = 0
            r = root_row[rec.row] if rooted else rec.row
            fd = first_price_day[instrument[r]]
            if fd != OPEN_END:
                n_days, _ = _n_mark_days(rec.open_time, rec.end_time, fd)
            count += n_days
            if (rec.flags & (FLAG_CLOSED | FLAG_MARKED)) != 0 or n_days > 0:
                count += 1
    times = np.empty(count, dtype=np.int64)
    deltas = np.empty(count, dtype=np.float64)
    e = 0
    for q in range(lo, hi):
        rec = records[q]
        last_mark = 0.0
        n_days = 0
        if use_marks:
            r = root_row[rec.row] if rooted else rec.row
            k = instrument[r]
            fd = first_price_day[k]
            if fd != OPEN_END:
                n_days, d_lo = _n_mark_days(rec.open_time, rec.end_time, fd)
                position_scale = side_leverage[r] * amount[rec.row]
                position_open = open_price[r]
                for j in range(n_days):
                    d = d_lo + j
                    mark = position_scale * (day_table[k, d - day0] / position_open - 1.0)
                    times[e] = (d + 1) * NS_PER_DAY - 1
                    deltas[e] = mark - last_mark
                    last_mark = mark
                    e += 1
        if (rec.flags & (FLAG_CLOSED | FLAG_MARKED)) != 0 or n_days > 0:
            times[e] = rec.end_time
            deltas[e] = rec.pnl - last_mark
            e += 1
    events_t = times[:e]
    events_d = deltas[:e]
    _sort_events(events_t, events_d)
    return events_t, events_d


@njit(cache=True, nogil=True)
def _floor_day(t):
    return t // NS_PER_DAY


@njit(cache=True, nogil=True)
def _max_drawdown(times, deltas, e0):
    # E sampled after each distinct event time; the running peak starts at E_0
    equity = e0
    peak = e0
    mdd = 0.0
    m = times.shape[0]
    i = 0
    while i < m:
        t = times[i]
        while i < m and times[i] == t:
            equity += deltas[i]
            i += 1
        if equity > peak:
            peak = equity
        if peak > 0.0:
            dd = (peak - equity) / peak
            if dd > mdd:
                mdd = dd
    return mdd


@njit(cache=True, nogil=True)
def _sharpe(times, deltas, e0, first, last, annualization):
    # daily returns over every UTC day from first to last event; quiet days return 0
    first_day = _floor_day(first)
    n_days = _floor_day(last) - first_day + 1
    if n_days < 2:
        return np.nan
    m = times.shape[0]
    total = 0.0
    sq = 0.0
    mean = 0.0
    for rep in range(2):
        n_event_days = 0
        equity = e0
        prev = e0
        i = 0
        while i < m:
            d = _floor_day(times[i])
            while i < m and _floor_day(times[i]) == d:
                equity += deltas[i]
                i += 1
            r = (equity - prev) / prev if prev > 0.0 else 0.0
            prev = equity
            n_event_days += 1
            if rep == 0:
                total += r
            else:
                sq += (r - mean) * (r - mean)
        if rep == 0:
            mean = total / n_days
        else:
            sq += (n_days - n_event_days) * mean * mean
    std = np.sqrt(sq / (n_days - 1))
    # a constant return series has zero spread up to rounding
    if std > 1e-12 * abs(mean) and std > 0.0:
        return mean / std * annualization
    return np.nan


@njit(cache=True, nogil=True, parallel=True)
def account_metrics_nb(indptr, records, initial_equity, annualization, marks):
    """Per-account metrics from account-ordered position records.

    Returns (final_equity, pnl, n_trades, n_social, n_closed, n_open, win_rate,
    max_drawdown, sharpe, first_time, last_time).
    """
    n_accounts = indptr.shape[0] - 1
    out_final = np.empty(n_accounts, dtype=np.float64)
    out_pnl = np.empty(n_accounts, dtype=np.float64)
    out_trades = np.zeros(n_accounts, dtype=np.int64)
    out_social = np.zeros(n_accounts, dtype=np.int64)
    out_closed = np.zeros(n_accounts, dtype=np.int64)
    out_open = np.zeros(n_accounts, dtype=np.int64)
    out_win = np.full(n_accounts, np.nan)
    out_mdd = np.zeros(n_accounts, dtype=np.float64)
    out_sharpe = np.full(n_accounts, np.nan)
    out_first = np.full(n_accounts, NO_TIME, dtype=np.int64)
    out_last = np.full(n_accounts, NO_TIME, dtype=np.int64)
    for a in prange(n_accounts):
        lo = indptr[a]
        hi = indptr[a + 1]
        e0 = initial_equity[a]
        total = 0.0
        n_social = 0
        n_closed = 0
        wins = 0
        first = OPEN_END
        last = NO_TIME
        for q in range(lo, hi):
            rec = records[q]
            total += rec.pnl
            if rec.flags & FLAG_SOCIAL:
                n_social += 1
            if rec.flags & FLAG_CLOSED:
                n_closed += 1
                if rec.pnl > 0.0:
                    wins += 1
            first = min(first, rec.open_time)
            last = max(last, rec.open_time)
        out_trades[a] = hi - lo
        out_social[a] = n_social
        out_closed[a] = n_closed
        out_open[a] = hi - lo - n_closed
        if n_closed > 0:
            out_win[a] = wins / n_closed
        out_pnl[a] = total
        out_final[a] = e0 + total
        if hi == lo:
            continue
        times, deltas = _account_events(records, lo, hi, marks)
        if times.shape[0] > 0:
            last = max(last, times[times.shape[0] - 1])
        out_first[a] = first
        out_last[a] = last
        out_mdd[a] = _max_drawdown(times, deltas, e0)
        out_sharpe[a] = _sharpe(times, deltas, e0, first, last, annualization)
    return (
        out_final,
        out_pnl,
        out_trades,
        out_social,
        out_closed,
        out_open,
        out_win,
        out_mdd,
        out_sharpe,
        out_first,
        out_last,
    )


@njit(cache=True, nogil=True)
def _n_distinct_days(times):
    c = 0
    prev = NO_TIME
    for i in range(times.shape[0]):
        d = _floor_day(times[i])
        if d != prev:
            c += 1
            prev = d
    return c


@njit(cache=True, nogil=True, parallel=True)
def daily_pnl_nb(indptr, records, marks):
    """Sparse daily PnL: (account int32, day int64, pnl float64) sorted by (account, day)."""
    n_accounts = indptr.shape[0] - 1
    counts = np.zeros(n_accounts + 1, dtype=np.int64)
    for a in prange(n_accounts):
        if indptr[a + 1] > indptr[a]:
            times, _ = _account_events(records, indptr[a], indptr[a + 1], marks)
            counts[a + 1] = _n_distinct_days(times)
    out_ptr = np.cumsum(counts)
    n = out_ptr[n_accounts]
    out_account = np.empty(n, dtype=np.int32)
    out_day = np.empty(n, dtype=np.int64)
    out_pnl = np.empty(n, dtype=np.float64)
    for a in prange(n_accounts):
        if out_ptr[a + 1] == out_ptr[a]:
            continue
        times, deltas = _account_events(records, indptr[a], indptr[a + 1], marks)
        j = out_ptr[a] - 1
        prev = NO_TIME
        for i in range(times.shape[0]):
            d = _floor_day(times[i])
            if d != prev:
                j += 1
                out_account[j] = a
                out_day[j] = d
                out_pnl[j] = 0.0
                prev = d
            out_pnl[j] += deltas[i]
    return out_account, out_day, out_pnl


@njit(cache=True, nogil=True)  # serial: cheap, and a parallel compile costs seconds
def equity_index_nb(account, close_time, pnl, n_accounts):
    """Per account: close times (sorted) and cumulative realised PnL, CSR by account."""
    n = account.shape[0]
    counts = np.zeros(n_accounts + 1, dtype=np.int64)
    for i in range(n):
        if close_time[i] != OPEN_END:
            counts[account[i] + 1] += 1
    indptr = np.cumsum(counts)
    fill = indptr[:-1].copy()
    times = np.empty(indptr[n_accounts], dtype=np.int64)
    cum = np.empty(indptr[n_accounts], dtype=np.float64)
    for i in range(n):
        if close_time[i] != OPEN_END:
            a = account[i]
            times[fill[a]] = close_time[i]
            cum[fill[a]] = pnl[i]
            fill[a] += 1
    for a in range(n_accounts):
        lo = indptr[a]
        hi = indptr[a + 1]
        _sort_events(times[lo:hi], cum[lo:hi])
        acc = 0.0
        for i in range(lo, hi):
            acc += cum[i]
            cum[i] = acc
    return indptr, times, cum


@njit(cache=True, nogil=True, parallel=True)
def equity_at_nb(indptr, times, cum, initial_equity, accounts, query_times):
    """Realised equity of `accounts[i]` at `query_times[i]` (closes at or before included)."""
    n = accounts.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in prange(n):
        a = accounts[i]
        lo = indptr[a]
        hi = indptr[a + 1]
        t = query_times[i]
        # closes with time <= t come before `left`
        left = upper_bound_nb(times, lo, hi, t)
        out[i] = initial_equity[a] + (cum[left - 1] if left > lo else 0.0)
    return out
