"""Depth-1 copy replay: a small serial sizing loop between parallel per-leader passes.

At depth 1 every copy is sized by its root's leader: `amount = root.amount * allocation /
E_L(t)`. The only thing that has to be replayed in time order is therefore each active
root's sizing equity `E_L(t)`, and that equity changes only through closes of positions
the leader holds: its own roots and the copies it received. Copies received by accounts
that lead nobody are never read again by the replay, so the serial loop ignores them;
the copies received by leaders are its "credits".

`mirror_replay_depth1_nb` runs it in steps:

1. roots grouped by leader (a counting sort of the active roots; leaders get dense
   codes), so the parallel passes read a leader's follow rows once for all its roots
   instead of once per root. Random access is what costs here, not arithmetic: the
   random loads are done in branch-free gather loops (independent loads overlap), the
   logic loops then read sequentially;
2. `_plan_nb` (parallel over leaders): per root, the follow rows active at its open
   (the copies it makes unless its leader is bankrupt) and how many go to leaders
   (credits);
3. `_credits_nb` (parallel over closes): the credits laid out in the order the serial
   loop closes them (close time; zero-duration roots at the end), holding the crediting follower's
   leader code and, until the root opens, the follow's allocation;
4. `size_roots_nb` (serial): the event loop over opens and closes in time order on a
   leader-only equity array. At an open it records the leader's equity and turns the
   credits' allocations into amounts; at a close it credits the owner's PnL and the
   credits' `amount * rate`. Closes come before opens at equal times; a root opening
   and closing at the same instant closes after every open of that instant;
5. `_fan_out_nb` (parallel over roots in open order): every copy, written
   sequentially (roots of bankrupt leaders make none and are counted as skipped).

Credits and copies use the same expression in the same order, so copy amounts and the
equities they feed are those of `replay.mirror_replay_nb` at depth 1, bit for bit (the
tests check this against it and against a pure-Python reference).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.data import OPEN_END
from ideaflow.kernels.replay import (
    MAX_COPIES,
    STATUS_OK,
    STATUS_TOO_MANY_COPIES,
    copy_start_over_roots_nb,
)


@njit(cache=True, nogil=True)
def _exclusive_scan(counts):
    out = np.empty(counts.shape[0] + 1, dtype=np.int64)
    s = 0
    for j in range(counts.shape[0]):
        out[j] = s
        s += counts[j]
    out[counts.shape[0]] = s
    return out


@njit(cache=True, nogil=True)
def _group_by_leader(active, root_trader, f_indptr):
    """Dense leader codes (-1: leads nobody), and the active roots (positions in
    `active`) grouped by leader code, ascending within a leader (CSR)."""
    n_accounts = f_indptr.shape[0] - 1
    lcode = np.full(n_accounts, -1, dtype=np.int32)
    n_leaders = 0
    for a in range(n_accounts):
        if f_indptr[a + 1] > f_indptr[a]:
            lcode[a] = n_leaders
            n_leaders += 1
    n_active = active.shape[0]
    open_leader = np.empty(n_active, dtype=np.int32)
    counts = np.zeros(n_leaders, dtype=np.int64)
    for j in range(n_active):
        code = lcode[root_trader[active[j]]]
        open_leader[j] = code
        counts[code] += 1
    by_start = _exclusive_scan(counts)
    fill = by_start[:-1].copy()
    by_leader = np.empty(n_active, dtype=np.int32)
    for j in range(n_active):
        code = open_leader[j]
        by_leader[fill[code]] = j
        fill[code] += 1
    leaders = np.empty(n_leaders, dtype=np.int32)
    for a in range(n_accounts):
        if lcode[a] >= 0:
            leaders[lcode[a]] = a
    return lcode, leaders, open_leader, by_start, by_leader


@njit(cache=True, nogil=True, parallel=True)
def _open_times_by_leader(root_open_time, active, by_leader):
    """Open times of the active roots in leader order (branch-free: the independent
    random loads overlap)."""
    out = np.empty(by_leader.shape[0], dtype=np.int64)
    for p in prange(by_leader.shape[0]):
        out[p] = root_open_time[active[by_leader[p]]]
    return out


@njit(cache=True, nogil=True, parallel=True)
def _plan_nb(t_by_leader, leaders, by_start, by_leader, f_indptr, f_lcode, f_start, f_end):
    """Per active root (positions in `active`): follow rows active at its open, and how
    many of them are credits. `t_by_leader[p]`: open time of root `by_leader[p]`.

    The counts are scattered straight into active order (4-byte stores, which do not
    stall the loop the way random loads would; no leader-order temporaries)."""
    n = t_by_leader.shape[0]
    n_rows = np.empty(n, dtype=np.int32)
    n_cred = np.empty(n, dtype=np.int32)
    for code in prange(leaders.shape[0]):
        leader = leaders[code]
        f_lo = f_indptr[leader]
        f_hi = f_indptr[leader + 1]
        for p in range(by_start[code], by_start[code + 1]):
            t = t_by_leader[p]
            rows = 0
            cred = 0
            for f in range(f_lo, f_hi):
                if f_start[f] > t:
                    break  # follows of a leader are sorted by start time
                if f_end[f] > t:
                    rows += 1
                    if f_lcode[f] >= 0:
                        cred += 1
            j = by_leader[p]
            n_rows[j] = rows
            n_cred[j] = cred
    return n_rows, n_cred


@njit(cache=True, nogil=True)
def _credit_rows(leaders, f_indptr, f_lcode, f_end, f_alloc):
    """Per leader code, its follow rows whose follower leads too (in row order, so by
    start time): CSR `indptr` with those rows' end times, follower codes and
    allocations. Filling credits then walks only these rows, not every follower of a
    popular leader."""
    n_leaders = leaders.shape[0]
    indptr = np.empty(n_leaders + 1, dtype=np.int64)
    m = 0
    for code in range(n_leaders):
        indptr[code] = m
        leader = leaders[code]
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_lcode[f] >= 0:
                m += 1
    indptr[n_leaders] = m
    end = np.empty(m, dtype=np.int64)
    acct = np.empty(m, dtype=np.int32)
    alloc = np.empty(m, dtype=np.float64)
    q = 0
    for code in range(n_leaders):
        leader = leaders[code]
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_lcode[f] >= 0:
                end[q] = f_end[f]
                acct[q] = f_lcode[f]
                alloc[q] = f_alloc[f]
                q += 1
    return indptr, end, acct, alloc


@njit(cache=True, nogil=True)
def _close_root(c, close_order, zero_order):
    """Position in `active` of the c-th close the serial loop meets."""
    n_close = close_order.shape[0]
    return close_order[c] if c < n_close else zero_order[c - n_close]


@njit(cache=True, nogil=True, parallel=True)
def _credits_nb(
    close_order,
    zero_order,
    active,
    root_trader,
    root_open_time,
    root_pnl,
    root_rate,
    close_time,
    lcode,
    n_cred,
    cr_indptr,
    cr_end,
    cr_acct,
    cr_alloc,
):
    """The closes in the order the serial loop meets them (timed closes by close time,
    then zero-duration roots in open order), with their credit slots.

    Close c has time, owner (leader code), PnL, rate and credit slots
    `cred_start[c]..cred_start[c+1]`: the crediting followers' leader codes
    (`cred_acct`, from the owner's credit rows `cr_*`, see `_credit_rows`) and their
    allocations (`cred_value`, turned into amounts by the loop
    when the root opens). `open_dst[j]`: the first credit slot of active root j, -1 when
    it never closes (its credits are never needed). Slots are int32: credits are
    copies, and the copies were checked to fit int32 before this runs.

    Only what the serial loop reads is laid out per close (fresh memory costs more than
    the arithmetic here, so nothing is materialised twice).
    """
    n_active = active.shape[0]
    n = close_order.shape[0] + zero_order.shape[0]
    c_time = np.empty(n, dtype=np.int64)
    c_owner = np.empty(n, dtype=np.int32)
    c_pnl = np.empty(n, dtype=np.float64)
    c_rate = np.empty(n, dtype=np.float64)
    cred_start = np.empty(n + 1, dtype=np.int32)
    for c in prange(n):
        j = _close_root(c, close_order, zero_order)
        r = active[j]
        cred_start[c + 1] = n_cred[j]
        c_time[c] = close_time[r]
        c_owner[c] = lcode[root_trader[r]]
        c_pnl[c] = root_pnl[r]
        c_rate[c] = root_rate[r]
    cred_start[0] = 0
    for c in range(n):
        cred_start[c + 1] += cred_start[c]
    open_dst = np.full(n_active, -1, dtype=np.int32)
    for c in prange(n):
        open_dst[_close_root(c, close_order, zero_order)] = cred_start[c]
    cred_acct = np.empty(cred_start[n], dtype=np.int32)
    cred_value = np.empty(cred_start[n], dtype=np.float64)
    for c in prange(n):
        k = cred_start[c]
        k_end = cred_start[c + 1]
        if k == k_end:
            continue
        t = root_open_time[active[_close_root(c, close_order, zero_order)]]
        q = cr_indptr[c_owner[c]]
        # the credits are the owner's first n_cred credit rows with start <= t and
        # end > t, in row order
        while k < k_end:
            if cr_end[q] > t:
                cred_acct[k] = cr_acct[q]
                cred_value[k] = cr_alloc[q]
                k += 1
            q += 1
    return c_time, c_owner, c_pnl, c_rate, cred_start, cred_acct, cred_value, open_dst


@njit(cache=True, nogil=True)
def _close(equity, closes, c):
    """Close c: its owner's PnL, then each credit's `amount * rate`, onto the equities.
    `closes`: (owner, pnl, rate, cred_start, cred_acct, cred_amount) by close."""
    owner, pnl, rate, cred_start, cred_acct, cred_amount = closes
    equity[owner[c]] += pnl[c]
    for k in range(cred_start[c], cred_start[c + 1]):
        equity[cred_acct[k]] += cred_amount[k] * rate[c]


@njit(cache=True, nogil=True)
def size_roots_nb(
    active,
    root_open_time,
    root_amount,
    root_zero,
    open_leader,
    n_cred,
    leader_equity,
    n_close,
    c_time,
    c_owner,
    c_pnl,
    c_rate,
    cred_start,
    cred_acct,
    cred_value,
    open_dst,
):
    """The serial event loop: each active root's sizing equity (`E_L` at its open).

    `leader_equity` (initial equity by leader code) is updated in place, and
    `cred_value` turns from allocations into credit amounts as roots open. The first
    `n_close` closes are the timed ones, the rest the zero-duration roots in open order.
    Credits of a root whose leader is bankrupt get amount 0 (the root makes no copies),
    which leaves every equity unchanged at its close.
    Returns the sizing equity of every active root.
    """
    n_active = active.shape[0]
    src_equity = np.empty(n_active, dtype=np.float64)
    closes = (c_owner, c_pnl, c_rate, cred_start, cred_acct, cred_value)
    n_zero = 0  # zero-duration roots opened at zero_time, not yet closed
    zi = n_close  # the next zero-duration close
    zero_time = 0
    ci = 0
    for j in range(n_active + 1):
        if j < n_active:
            i = active[j]
            t = root_open_time[i]
        else:
            i = -1
            t = OPEN_END
        if n_zero > 0 and zero_time < t:
            # roots that opened and closed at zero_time close after the closes up to
            # zero_time and after every open at zero_time
            while ci < n_close and c_time[ci] <= zero_time:
                _close(leader_equity, closes, ci)
                ci += 1
            for z in range(zi, zi + n_zero):
                _close(leader_equity, closes, z)
            zi += n_zero
            n_zero = 0
        # closes at or before t come before the open at t
        while ci < n_close and c_time[ci] <= t:
            _close(leader_equity, closes, ci)
            ci += 1
        if j == n_active:
            break
        e = leader_equity[open_leader[j]]
        src_equity[j] = e
        d = open_dst[j]
        if d >= 0:
            amount = root_amount[i]
            for k in range(d, d + n_cred[j]):
                cred_value[k] = amount * cred_value[k] / e if e > 0.0 else 0.0
        if root_zero[i]:
            n_zero += 1
            zero_time = t
    return src_equity


@njit(cache=True, nogil=True, parallel=True)
def _fan_out_nb(
    active,
    root_trader,
    root_open_time,
    root_amount,
    n_rows,
    src_equity,
    f_indptr,
    f_follower,
    f_end,
    f_alloc,
    n_roots,
    f_lo,
):
    """Every copy of every active root, given the roots' sizing equities.

    Returns (copy_start over all `n_roots` roots, copy account, copy amount, copies
    skipped because the leader's equity was <= 0). Copies of a root follow its leader's
    follow rows in (start_time, follower) order. Roots are taken in open order, so the
    copies are written sequentially (the follow rows, a few MB, are what is read at
    random; unlike the plan, which reads them once per leader, this pass would scatter
    20 bytes per copy over hundreds of MB if it went by leader). `f_lo`: a dead int64
    buffer of at least len(active) (reused for each root's first follow row: fresh
    memory costs more than the pass).
    """
    n_active = active.shape[0]
    act_start = np.empty(n_active + 1, dtype=np.int64)
    skipped = 0
    made = 0
    for j in range(n_active):
        act_start[j] = made
        if src_equity[j] > 0.0:
            made += n_rows[j]
        else:
            skipped += n_rows[j]
    act_start[n_active] = made
    for j in prange(n_active):
        f_lo[j] = f_indptr[root_trader[active[j]]]
    acct = np.empty(made, dtype=np.int32)
    amount = np.empty(made, dtype=np.float64)
    for j in prange(n_active):
        k = act_start[j]
        k_end = act_start[j + 1]
        if k == k_end:
            continue
        i = active[j]
        t = root_open_time[i]
        e = src_equity[j]
        a = root_amount[i]
        f = f_lo[j]
        # the first n_rows[j] rows with start <= t and end > t, in row order
        while k < k_end:
            if f_end[f] > t:
                acct[k] = f_follower[f]
                amount[k] = a * f_alloc[f] / e
                k += 1
            f += 1
    copy_start = copy_start_over_roots_nb(active, act_start, n_roots)
    return copy_start, acct, amount, skipped


@njit(cache=True, nogil=True)
def mirror_replay_depth1_nb(
    active,
    root_trader,
    root_open_time,
    root_amount,
    root_pnl,
    root_rate,
    root_zero,
    close_order,
    close_time,
    f_indptr,
    f_follower,
    f_start,
    f_end,
    f_alloc,
    initial_equity,
):
    """The depth-1 mirror replay; inputs as `replay.mirror_replay_nb` (without depth and
    capacity). Returns (copy_start over all roots, copy account, copy amount, n_copies,
    skipped_bankrupt, status) with status `STATUS_TOO_MANY_COPIES` (and no copies) when
    the copies would not fit int32 positions."""
    lcode, leaders, open_leader, by_start, by_leader = _group_by_leader(
        active, root_trader, f_indptr
    )
    f_lcode = np.empty(f_follower.shape[0], dtype=np.int32)
    for f in range(f_follower.shape[0]):
        f_lcode[f] = lcode[f_follower[f]]
    t_by_leader = _open_times_by_leader(root_open_time, active, by_leader)
    n_rows, n_cred = _plan_nb(
        t_by_leader, leaders, by_start, by_leader, f_indptr, f_lcode, f_start, f_end
    )
    total = 0
    for j in range(n_rows.shape[0]):
        total += n_rows[j]
    if total > MAX_COPIES:
        return (
            np.zeros(root_trader.shape[0] + 1, dtype=np.int64),
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.float64),
            0,
            0,
            STATUS_TOO_MANY_COPIES,
        )
    # zero-duration roots close, in open order, after the opens of their instant
    zero_order = np.flatnonzero(root_zero[active])
    c_time, c_owner, c_pnl, c_rate, cred_start, cred_acct, cred_value, open_dst = _credits_nb(
        close_order,
        zero_order,
        active,
        root_trader,
        root_open_time,
        root_pnl,
        root_rate,
        close_time,
        lcode,
        n_cred,
        *_credit_rows(leaders, f_indptr, f_lcode, f_end, f_alloc),
    )
    leader_equity = np.empty(leaders.shape[0], dtype=np.float64)
    for code in range(leaders.shape[0]):
        leader_equity[code] = initial_equity[leaders[code]]
    src_equity = size_roots_nb(
        active,
        root_open_time,
        root_amount,
        root_zero,
        open_leader,
        n_cred,
        leader_equity,
        close_order.shape[0],
        c_time,
        c_owner,
        c_pnl,
        c_rate,
        cred_start,
        cred_acct,
        cred_value,
        open_dst,
    )
    copy_start, acct, amount, skipped = _fan_out_nb(
        active,
        root_trader,
        root_open_time,
        root_amount,
        n_rows,
        src_equity,
        f_indptr,
        f_follower,
        f_end,
        f_alloc,
        root_trader.shape[0],
        t_by_leader,  # dead since the plan: holds each root's first follow row
    )
    return copy_start, acct, amount, acct.shape[0], skipped, STATUS_OK
