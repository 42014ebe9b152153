"""Depth-1 copy replay split into a small serial sizing loop and a parallel fan-out.

At depth 1 every copy is sized by its root's leader: `amount = root.amount * allocation /
E_L(t)`. The only thing that has to be replayed in time order is therefore each active
root's sizing equity `E_L(t)`, and that equity changes only through closes of positions
the leader holds: its own roots and the copies it received. Copies received by accounts
that lead nobody are never read again by the replay, so the serial loop ignores them.

`mirror_replay_depth1_nb` runs it in three steps:

1. `plan_fanout_nb` (parallel over active roots): for each root, the number of follow
   rows active at its open (the copies it makes unless its leader is bankrupt) and how
   many of those go to followers who lead someone themselves ("credits", the copies
   whose PnL feeds back into a sizing equity); the credits' dense leader codes and
   allocations; each root's leader as a dense leader code.
2. `size_roots_nb` (serial): the event loop over opens and closes in time order on a
   leader-only equity array (small enough to stay in cache). At an open it records the
   leader's equity and sizes the root's credits; at a close it credits the owner's PnL
   and the credits' `amount * rate`. Closes come before opens at equal times; a root
   opening and closing at the same instant closes after every open of that instant.
3. `fan_out_nb` (parallel over active roots): every copy, written straight to its place
   (roots of bankrupt leaders make none and are counted as skipped).

The credits and the copies are computed with the same expression in the same order, so
a copy's amount and the equity it feeds are those of `replay.mirror_replay_nb` at depth
1, bit for bit (the tests check this against it and a pure-Python reference).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.kernels.replay import MAX_COPIES, STATUS_OK, STATUS_TOO_MANY_COPIES


@njit(cache=True, nogil=True)
def leader_codes_nb(f_indptr):
    """Dense codes 0..n_leaders-1 of accounts that lead at least one follow row, -1 else."""
    n = f_indptr.shape[0] - 1
    code = np.full(n, -1, dtype=np.int32)
    k = 0
    for a in range(n):
        if f_indptr[a + 1] > f_indptr[a]:
            code[a] = k
            k += 1
    return code, k


@njit(cache=True, nogil=True)
def _exclusive_scan(counts):
    out = np.empty(counts.shape[0] + 1, dtype=np.int64)
    s = 0
    for j in range(counts.shape[0]):
        out[j] = s
        s += counts[j]
    out[counts.shape[0]] = s
    return out


@njit(cache=True, nogil=True, parallel=True)
def plan_fanout_nb(active, root_trader, root_open_time, lcode, f_indptr, f_lcode, f_start, f_end):
    """Per active root: the copies it would make and how many of them are credits.

    `f_lcode[f]` is the leader code of follow row f's follower (-1: leads nobody).
    Returns (n_rows int32, n_cred int32, open_leader int32: the root's leader code).
    Follows are CSR by leader, sorted by start time within a leader; a follow is active
    at t when `start <= t < end`.
    """
    n_active = active.shape[0]
    n_rows = np.empty(n_active, dtype=np.int32)
    n_cred = np.empty(n_active, dtype=np.int32)
    open_leader = np.empty(n_active, dtype=np.int32)
    for j in prange(n_active):
        i = active[j]
        t = root_open_time[i]
        leader = root_trader[i]
        open_leader[j] = lcode[leader]
        rows = 0
        cred = 0
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_start[f] > t:
                break
            if f_end[f] > t:
                rows += 1
                if f_lcode[f] >= 0:
                    cred += 1
        n_rows[j] = rows
        n_cred[j] = cred
    return n_rows, n_cred, open_leader


@njit(cache=True, nogil=True, parallel=True)
def gather_closes_nb(
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
    f_indptr,
    f_lcode,
    f_start,
    f_end,
    f_alloc,
):
    """The closes in the order the serial loop meets them, gathered once so that it
    reads them sequentially.

    `close_order`: positions in `active` of roots closing strictly after their open, by
    close time; `zero_order`: those closing at their open instant, ascending. Close c
    (zero-duration ones after the others) has time, owner (leader code), PnL, rate and
    credit slots `cred_start[c]..cred_start[c+1]` holding the crediting followers'
    leader codes (`cred_acct`); the loop writes the credit amounts there at the open.
    Per active root: `open_dst` (its first credit slot, -1 when it never closes) and its
    credits' allocations in open order (`open_alloc`, from `open_alloc_start`).
    """
    n_active = active.shape[0]
    n_close = close_order.shape[0]
    n = n_close + zero_order.shape[0]
    order = np.empty(n, dtype=np.int64)
    order[:n_close] = close_order
    order[n_close:] = zero_order
    counts = np.empty(n, dtype=np.int64)
    for c in prange(n):
        counts[c] = n_cred[order[c]]
    cred_start = _exclusive_scan(counts)
    open_dst = np.full(n_active, -1, dtype=np.int64)
    c_time = np.empty(n, dtype=np.int64)
    c_owner = np.empty(n, dtype=np.int32)
    c_pnl = np.empty(n, dtype=np.float64)
    c_rate = np.empty(n, dtype=np.float64)
    cred_acct = np.empty(cred_start[n], dtype=np.int32)
    for c in prange(n):
        j = order[c]
        r = active[j]
        c_time[c] = close_time[r]
        c_owner[c] = lcode[root_trader[r]]
        c_pnl[c] = root_pnl[r]
        c_rate[c] = root_rate[r]
        k = cred_start[c]
        open_dst[j] = k
        if n_cred[j] == 0:
            continue
        t = root_open_time[r]
        leader = root_trader[r]
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_start[f] > t:
                break
            if f_end[f] > t and f_lcode[f] >= 0:
                cred_acct[k] = f_lcode[f]
                k += 1
    # allocations of the credits in open order (read by the loop at each open)
    alloc_counts = np.empty(n_active, dtype=np.int64)
    for j in prange(n_active):
        alloc_counts[j] = n_cred[j] if open_dst[j] >= 0 else 0
    open_alloc_start = _exclusive_scan(alloc_counts)
    open_alloc = np.empty(open_alloc_start[n_active], dtype=np.float64)
    for j in prange(n_active):
        if alloc_counts[j] == 0:
            continue
        r = active[j]
        t = root_open_time[r]
        leader = root_trader[r]
        k = open_alloc_start[j]
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_start[f] > t:
                break
            if f_end[f] > t and f_lcode[f] >= 0:
                open_alloc[k] = f_alloc[f]
                k += 1
    return (
        c_time,
        c_owner,
        c_pnl,
        c_rate,
        cred_start,
        cred_acct,
        open_dst,
        open_alloc_start,
        open_alloc,
    )


@njit(cache=True, nogil=True)
def _credit(equity, owner, pnl, rate, lo, hi, cred_acct, cred_amount):
    equity[owner] += pnl
    for k in range(lo, hi):
        equity[cred_acct[k]] += cred_amount[k] * rate


@njit(cache=True, nogil=True)
def size_roots_nb(
    active,
    root_open_time,
    root_amount,
    root_zero,
    open_leader,
    leader_equity,
    n_close,
    c_time,
    c_owner,
    c_pnl,
    c_rate,
    cred_start,
    cred_acct,
    open_dst,
    open_alloc_start,
    open_alloc,
):
    """The serial event loop: each active root's sizing equity (`E_L` at its open).

    `leader_equity` (initial equity by leader code) is updated in place. The first
    `n_close` gathered closes are the timed ones, the rest the zero-duration roots in
    open order. Credits of a root whose leader is bankrupt get amount 0 (the root makes
    no copies), which leaves every equity unchanged at its close.
    Returns the sizing equity of every active root.
    """
    n_active = active.shape[0]
    src_equity = np.empty(n_active, dtype=np.float64)
    cred_amount = np.empty(cred_acct.shape[0], dtype=np.float64)
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
            t = np.iinfo(np.int64).max
        if n_zero > 0 and zero_time < t:
            # roots that opened and closed at zero_time close after the closes up to
            # zero_time and after every open at zero_time
            while ci < n_close and c_time[ci] <= zero_time:
                _credit(
                    leader_equity,
                    c_owner[ci],
                    c_pnl[ci],
                    c_rate[ci],
                    cred_start[ci],
                    cred_start[ci + 1],
                    cred_acct,
                    cred_amount,
                )
                ci += 1
            for z in range(zi, zi + n_zero):
                _credit(
                    leader_equity,
                    c_owner[z],
                    c_pnl[z],
                    c_rate[z],
                    cred_start[z],
                    cred_start[z + 1],
                    cred_acct,
                    cred_amount,
                )
            zi += n_zero
            n_zero = 0
        # closes at or before t come before the open at t
        while ci < n_close and c_time[ci] <= t:
            _credit(
                leader_equity,
                c_owner[ci],
                c_pnl[ci],
                c_rate[ci],
                cred_start[ci],
                cred_start[ci + 1],
                cred_acct,
                cred_amount,
            )
            ci += 1
        if j == n_active:
            break
        e = leader_equity[open_leader[j]]
        src_equity[j] = e
        d = open_dst[j]
        if d >= 0:
            amount = root_amount[i]
            for k in range(open_alloc_start[j], open_alloc_start[j + 1]):
                cred_amount[d] = amount * open_alloc[k] / e if e > 0.0 else 0.0
                d += 1
        if root_zero[i]:
            n_zero += 1
            zero_time = t
    return src_equity


@njit(cache=True, nogil=True, parallel=True)
def fan_out_nb(
    active,
    root_trader,
    root_open_time,
    root_amount,
    n_rows,
    src_equity,
    f_indptr,
    f_follower,
    f_start,
    f_end,
    f_alloc,
    n_roots,
):
    """Every copy of every active root, given the roots' sizing equities.

    Returns (copy_start over all `n_roots` roots, copy account, copy amount, copies
    skipped because the leader's equity was <= 0). Copies of a root follow its leader's
    follow rows in (start_time, follower) order.
    """
    n_active = active.shape[0]
    made = np.empty(n_active, dtype=np.int64)
    skipped = 0
    for j in prange(n_active):
        if src_equity[j] > 0.0:
            made[j] = n_rows[j]
        else:
            made[j] = 0
            skipped += n_rows[j]
    act_start = _exclusive_scan(made)
    n = act_start[n_active]
    acct = np.empty(n, dtype=np.int32)
    amount = np.empty(n, dtype=np.float64)
    for j in prange(n_active):
        if made[j] == 0:
            continue
        i = active[j]
        t = root_open_time[i]
        leader = root_trader[i]
        e = src_equity[j]
        a = root_amount[i]
        k = act_start[j]
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_start[f] > t:
                break
            if f_end[f] > t:
                acct[k] = f_follower[f]
                amount[k] = a * f_alloc[f] / e
                k += 1
    # copy ranges over all roots (inactive roots have none)
    copy_start = np.empty(n_roots + 1, dtype=np.int64)
    j = 0
    for i in range(n_roots + 1):
        if j < n_active and active[j] < i:
            j += 1
        copy_start[i] = act_start[j]
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
    lcode, n_leaders = leader_codes_nb(f_indptr)
    f_lcode = np.empty(f_follower.shape[0], dtype=np.int32)
    for f in range(f_follower.shape[0]):
        f_lcode[f] = lcode[f_follower[f]]
    n_rows, n_cred, open_leader = plan_fanout_nb(
        active, root_trader, root_open_time, lcode, f_indptr, f_lcode, f_start, f_end
    )
    total = 0
    for j in range(n_rows.shape[0]):
        total += n_rows[j]
    if total > MAX_COPIES:
        empty = np.zeros(root_trader.shape[0] + 1, dtype=np.int64)
        return (
            empty,
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.float64),
            0,
            0,
            STATUS_TOO_MANY_COPIES,
        )
    n_zero = 0
    for j in range(active.shape[0]):
        if root_zero[active[j]]:
            n_zero += 1
    zero_order = np.empty(n_zero, dtype=np.int64)
    n_zero = 0
    for j in range(active.shape[0]):
        if root_zero[active[j]]:
            zero_order[n_zero] = j
            n_zero += 1
    (
        c_time,
        c_owner,
        c_pnl,
        c_rate,
        cred_start,
        cred_acct,
        open_dst,
        open_alloc_start,
        open_alloc,
    ) = gather_closes_nb(
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
        f_indptr,
        f_lcode,
        f_start,
        f_end,
        f_alloc,
    )
    # codes follow account order
    leader_equity = np.empty(n_leaders, dtype=np.float64)
    for a in range(lcode.shape[0]):
        if lcode[a] >= 0:
            leader_equity[lcode[a]] = initial_equity[a]
    src_equity = size_roots_nb(
        active,
        root_open_time,
        root_amount,
        root_zero,
        open_leader,
        leader_equity,
        close_order.shape[0],
        c_time,
        c_owner,
        c_pnl,
        c_rate,
        cred_start,
        cred_acct,
        open_dst,
        open_alloc_start,
        open_alloc,
    )
    copy_start, acct, amount, skipped = fan_out_nb(
        active,
        root_trader,
        root_open_time,
        root_amount,
        n_rows,
        src_equity,
        f_indptr,
        f_follower,
        f_start,
        f_end,
        f_alloc,
        root_trader.shape[0],
    )
    return copy_start, acct, amount, acct.shape[0], skipped, STATUS_OK
