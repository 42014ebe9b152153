"""Copy replay kernels (docs/contract.md §4): the event loop with copy fan-out, and book assembly.

`mirror_replay_nb` walks the original ("root") trades in (open_time, trade_id) order,
merged with their closes, keeping every account's realised equity. At equal timestamps
closes come before opens; a root that opens and closes at the same instant is closed
right after all opens of that instant (its copies must exist before it closes).

At a root's open, copies fan out breadth-first over the follow graph: hop-h copies are
made from hop-(h-1) copies, every source sizing with its realised replay equity:
`amount = source.amount * allocation / E_source(t)`. A root reaches an account at most
once (fewest hops; within a level, sources are taken in ascending code order and the
first claim wins) and never its own trader. A source with equity <= 0 makes no copy.
Copies of a root are stored contiguously, so a root's close credits a range.

A copy closes with its root at the root's exit price, so it has the root's return: the
loop stores only each copy's account and amount and credits `amount * rate` at the
close; `assemble_rooted_book_nb` derives fee and PnL when it writes the book.

Speed (the loop is serial by nature: every sizing depends on earlier closes): only roots
of traders who lead someone enter the loop (nobody else's equity is ever read); closes
are gathered into close order once, so the loop reads them sequentially; the copy
arrays are sized from an exact count of hop-1 candidates and grown outside the hot loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ideaflow.data import OPEN_END
from ideaflow.kernels.metrics import insertion_sort_pairs_nb, merge_sort_nb

STATUS_OK = 0
STATUS_TOO_MANY_COPIES = 1

MAX_COPIES = np.iinfo(np.int32).max - 1


# state of a resumable event loop (int64 slots)
_I, _CI, _N, _NZERO, _ZTIME, _SKIPPED = 0, 1, 2, 3, 4, 5
_RUN_DONE = 0
_RUN_NEED_CAPACITY = 1


@njit(cache=True, nogil=True)
def _grow(a, n_used, cap):
    b = np.empty(cap, dtype=a.dtype)
    b[:n_used] = a[:n_used]
    return b


@njit(cache=True, nogil=True)
def _sources_by_code(c_acct, lo, hi, f_indptr, scratch_keys, scratch_order):
    """Copies lo..hi-1 that can be copied (their account leads someone), ordered by
    account code (codes are distinct within a level).

    Copies of accounts nobody follows are left out before sorting: they make no copies,
    and in a wide level they are most of it. Small results (the usual case) are
    insertion-sorted into preallocated scratch arrays: an allocation per root and level
    would dominate the deep replay.
    """
    m = 0
    for k in range(lo, hi):
        a = c_acct[k]
        if f_indptr[a + 1] > f_indptr[a]:
            if m < scratch_keys.shape[0]:
                scratch_keys[m] = a
                scratch_order[m] = k
            m += 1
    if m > scratch_keys.shape[0]:
        keys = np.empty(m, dtype=np.int64)
        order = np.empty(m, dtype=np.int64)
        m = 0
        for k in range(lo, hi):
            a = c_acct[k]
            if f_indptr[a + 1] > f_indptr[a]:
                keys[m] = a
                order[m] = k
                m += 1
        merge_sort_nb(keys, order)
        return order
    insertion_sort_pairs_nb(scratch_keys, scratch_order, m)
    return scratch_order[:m]


@njit(cache=True, nogil=True)
def _fan_out(
    src,
    src_amount,
    src_idx,
    hop,
    t,
    root,
    use_claims,
    equity,
    claim,
    f_indptr,
    f_follower,
    f_start,
    f_end,
    f_alloc,
    c_acct,
    c_amount,
    c_parent,
    c_hop,
    n,
):
    """Copies of one source position to its followers active at t; returns (n, skipped).

    Only the account and amount of a copy are stored (fee and PnL follow from the root,
    see `assemble_rooted_book_nb`); parent and hop only when `use_claims` (depth > 1).
    Capacity for every follow row of `src` must be available from `n` on.
    """
    skipped = 0
    src_equity = equity[src]
    for f in range(f_indptr[src], f_indptr[src + 1]):
        if f_start[f] > t:
            break  # follows of a leader are sorted by start time
        if f_end[f] <= t:
            continue
        follower = f_follower[f]
        if use_claims and claim[follower] == root:
            continue
        if src_equity <= 0.0:
            skipped += 1
            continue
        c_acct[n] = follower
        c_amount[n] = src_amount * f_alloc[f] / src_equity
        if use_claims:
            claim[follower] = root
            c_parent[n] = src_idx
            c_hop[n] = hop
        n += 1
    return n, skipped


@njit(cache=True, nogil=True)
def _run_events(
    state,
    active,
    root_trader,
    root_open_time,
    root_amount,
    root_pnl,
    root_rate,
    root_zero,
    close_t,
    close_owner,
    close_pnl,
    close_rate,
    close_range,
    close_pos,
    zero_pending,
    f_indptr,
    f_follower,
    f_start,
    f_end,
    f_alloc,
    equity,
    leads,
    claim,
    depth,
    deep_slack,
    act_start,
    c_acct,
    c_amount,
    c_parent,
    c_hop,
):
    """The event loop from active root `state[_I]` on; returns early when a root might
    not fit in the copy arrays.

    The copy arrays are arguments, never reassigned here: growing them is the caller's
    job, which keeps reference counting out of the hot loop.
    """
    n_active = active.shape[0]
    n_close = close_t.shape[0]
    cap = c_acct.shape[0]
    scratch_keys = np.empty(64, dtype=np.int64)
    scratch_order = np.empty(64, dtype=np.int64)
    j0 = state[_I]
    ci = state[_CI]
    n = state[_N]
    n_zero = state[_NZERO]
    zero_time = state[_ZTIME]
    skipped = state[_SKIPPED]
    result = _RUN_DONE
    use_claims = depth > 1
    for j in range(j0, n_active + 1):
        if j < n_active:
            i = active[j]
            leader = root_trader[i]
            # a root makes at most one copy per follow row it can reach
            need = deep_slack if use_claims else f_indptr[leader + 1] - f_indptr[leader]
            if n + need > cap:
                state[_I] = j
                result = _RUN_NEED_CAPACITY
                break
            t = root_open_time[i]
        else:
            i = -1
            leader = -1
            t = OPEN_END
        if n_zero > 0 and zero_time < t:
            # roots that opened and closed at zero_time close after the closes up to
            # zero_time and after every open at zero_time
            while ci < n_close and close_t[ci] <= zero_time:
                equity[close_owner[ci]] += close_pnl[ci]
                rate = close_rate[ci]
                for k in range(close_range[ci, 0], close_range[ci, 1]):
                    a = c_acct[k]
                    if leads[a]:
                        equity[a] += c_amount[k] * rate
                ci += 1
            for z in range(n_zero):
                rz = active[zero_pending[z]]
                equity[root_trader[rz]] += root_pnl[rz]
                rate = root_rate[rz]
                for k in range(act_start[zero_pending[z]], act_start[zero_pending[z] + 1]):
                    a = c_acct[k]
                    if leads[a]:
                        equity[a] += c_amount[k] * rate
            n_zero = 0
        # closes at or before t come before the open at t: credit owners and copies
        while ci < n_close and close_t[ci] <= t:
            equity[close_owner[ci]] += close_pnl[ci]
            rate = close_rate[ci]
            for k in range(close_range[ci, 0], close_range[ci, 1]):
                a = c_acct[k]
                if leads[a]:
                    equity[a] += c_amount[k] * rate
            ci += 1
        if j == n_active:
            state[_I] = n_active
            break
        # the open of root i: copies fan out breadth-first
        act_start[j] = n
        if use_claims:
            claim[leader] = i
        n, n_skip = _fan_out(
            leader,
            root_amount[i],
            -1,
            1,
            t,
            i,
            use_claims,
            equity,
            claim,
            f_indptr,
            f_follower,
            f_start,
            f_end,
            f_alloc,
            c_acct,
            c_amount,
            c_parent,
            c_hop,
            n,
        )
        skipped += n_skip
        # hops 2..depth from the previous level's copies, sources in ascending code order
        level_lo = act_start[j]
        for h in range(2, depth + 1):
            level_hi = n
            if level_hi == level_lo:
                break
            order = _sources_by_code(
                c_acct, level_lo, level_hi, f_indptr, scratch_keys, scratch_order
            )
            for s in range(order.shape[0]):
                src_idx = order[s]
                n, n_skip = _fan_out(
                    c_acct[src_idx],
                    c_amount[src_idx],
                    src_idx,
                    h,
                    t,
                    i,
                    True,
                    equity,
                    claim,
                    f_indptr,
                    f_follower,
                    f_start,
                    f_end,
                    f_alloc,
                    c_acct,
                    c_amount,
                    c_parent,
                    c_hop,
                    n,
                )
                skipped += n_skip
            level_lo = level_hi
        act_start[j + 1] = n
        p = close_pos[j]
        if p >= 0:
            close_range[p, 0] = act_start[j]
            close_range[p, 1] = n
        if root_zero[i]:
            zero_pending[n_zero] = j
            n_zero += 1
            zero_time = t
    state[_CI] = ci
    state[_N] = n
    state[_NZERO] = n_zero
    state[_ZTIME] = zero_time
    state[_SKIPPED] = skipped
    return result


@njit(cache=True, nogil=True)
def copy_start_over_roots_nb(active, act_start, n_roots):
    """Copy ranges over all roots from those of the active roots (`act_start`, positions
    in `active`, ascending root indices): inactive roots have an empty range."""
    n_active = active.shape[0]
    copy_start = np.empty(n_roots + 1, dtype=np.int64)
    j = 0
    for i in range(n_roots + 1):
        if j < n_active and active[j] < i:
            j += 1
        copy_start[i] = act_start[j]
    return copy_start


@njit(cache=True, nogil=True)
def count_hop1_candidates_nb(active, root_trader, root_open_time, f_indptr, f_start, f_end):
    """Number of (active root, follow active at its open) pairs: the hop-1 copies when no
    leader is bankrupt. Sizes the copy arrays up front (growing them costs fresh memory)."""
    total = 0
    for j in range(active.shape[0]):
        i = active[j]
        t = root_open_time[i]
        leader = root_trader[i]
        for f in range(f_indptr[leader], f_indptr[leader + 1]):
            if f_start[f] > t:
                break
            if f_end[f] > t:
                total += 1
    return total


@njit(cache=True, nogil=True)
def mirror_replay_nb(
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
    depth,
    capacity,
):
    """Replay roots with copy fan-out up to `depth` hops.

    Roots are sorted by (open_time, trade_id). Only the *active* roots take part in the
    event loop: those whose trader leads at least one follow row (ascending indices in
    `active`). The others make no copies, and their PnL never sizes a copy: equity is
    only read for accounts that lead someone, and those accounts' roots are active.
    `close_order` lists positions in `active` of the roots that close strictly after
    they open, stably sorted by close time; `root_zero[r]` flags roots that close at
    their open instant. A copy's PnL is `amount * root_rate[r]` (every copy has its
    root's return: `root_rate` is `side * leverage * (exit / open - 1) - fee / amount`,
    0 when the root has no exit price). Follows are CSR by leader, sorted by
    (start_time, follower) within a leader.

    Returns (copy_start over all roots, acct, amount, parent, hop, n_copies,
    skipped_bankrupt, status); copy arrays may have spare capacity beyond n_copies;
    `parent[k]` is the index of the parent copy, -1 when the parent is the root; parent
    and hop are empty when depth == 1 (every parent is the root, every hop 1).
    """
    n_roots = root_trader.shape[0]
    n_active = active.shape[0]
    n_accounts = initial_equity.shape[0]
    deep = depth > 1
    equity = initial_equity.copy()
    # equity is only ever read for accounts that lead someone (to size their copies), so
    # closes credit only those: most copy owners are not leaders, and skipping them
    # saves a cache miss per copy on the equity array
    leads = np.zeros(n_accounts, dtype=np.uint8)
    for a in range(n_accounts):
        if f_indptr[a + 1] > f_indptr[a]:
            leads[a] = 1
    claim = np.full(n_accounts if deep else 0, -1, dtype=np.int64)
    act_start = np.zeros(n_active + 1, dtype=np.int64)
    # closes in close order, gathered once so that the event loop reads them sequentially
    n_close = close_order.shape[0]
    close_t = np.empty(n_close, dtype=np.int64)
    close_owner = np.empty(n_close, dtype=np.int32)
    close_pnl = np.empty(n_close, dtype=np.float64)
    close_rate = np.empty(n_close, dtype=np.float64)
    close_range = np.zeros((n_close, 2), dtype=np.int64)
    close_pos = np.full(n_active, -1, dtype=np.int64)
    for c in range(n_close):
        j = close_order[c]
        r = active[j]
        close_t[c] = close_time[r]
        close_owner[c] = root_trader[r]
        close_pnl[c] = root_pnl[r]
        close_rate[c] = root_rate[r]
        close_pos[j] = c
    zero_pending = np.empty(n_active, dtype=np.int64)
    # a root reaches each account at most once, through one follow row each
    deep_slack = min(n_accounts - 1, f_follower.shape[0])
    cap = min(max(capacity, 16), MAX_COPIES)
    c_acct = np.empty(cap, dtype=np.int32)
    c_amount = np.empty(cap, dtype=np.float64)
    c_parent = np.empty(cap if deep else 0, dtype=np.int32)
    c_hop = np.empty(cap if deep else 0, dtype=np.int8)
    state = np.zeros(6, dtype=np.int64)
    status = STATUS_OK
    while True:
        result = _run_events(
            state,
            active,
            root_trader,
            root_open_time,
            root_amount,
            root_pnl,
            root_rate,
            root_zero,
            close_t,
            close_owner,
            close_pnl,
            close_rate,
            close_range,
            close_pos,
            zero_pending,
            f_indptr,
            f_follower,
            f_start,
            f_end,
            f_alloc,
            equity,
            leads,
            claim,
            depth,
            deep_slack,
            act_start,
            c_acct,
            c_amount,
            c_parent,
            c_hop,
        )
        if result == _RUN_DONE:
            break
        n = state[_N]
        leader = root_trader[active[state[_I]]]
        need = deep_slack if deep else f_indptr[leader + 1] - f_indptr[leader]
        new_cap = min(max(2 * cap, n + need), MAX_COPIES)
        if n + need > new_cap:
            status = STATUS_TOO_MANY_COPIES
            break
        c_acct = _grow(c_acct, n, new_cap)
        c_amount = _grow(c_amount, n, new_cap)
        if deep:
            c_parent = _grow(c_parent, n, new_cap)
            c_hop = _grow(c_hop, n, new_cap)
        cap = new_cap
    copy_start = copy_start_over_roots_nb(active, act_start, n_roots)
    return (
        copy_start,
        c_acct,
        c_amount,
        c_parent,
        c_hop,
        state[_N],
        state[_SKIPPED],
        status,
    )


@njit(cache=True, nogil=True, parallel=True)
def assemble_rooted_book_nb(
    group_start,
    copy_start,
    r_trade_id,
    r_trader,
    r_amount,
    r_fee,
    r_pnl,
    r_gross,
    r_valued,
    c_acct,
    c_amount,
    c_parent,
    c_hop,
    first_copy_id,
):
    """Merge roots and their copies into one book sorted by (open_time, trade_id): the
    columns each position holds itself, and its root's row (`RootedBook`).

    Roots are sorted by (open_time, trade_id); copies get ids `first_copy_id + k` (k =
    generation order) above every logged id, so at each open time the roots come first,
    then the copies of those roots in generation order. `group_start` lists the first
    root of every distinct open time, plus n_roots at the end.
    A copy's fee is its parent's fee scaled by amount / parent amount; its PnL
    `amount * gross - fee` (`r_gross` = side * leverage * (exit / open - 1)), 0 for a
    root without exit price (`r_valued` false). `c_parent` / `c_hop` are empty for
    depth 1 (parent = root, hop 1).

    Returns (trade_id, account, amount, fee, pnl, parent_trade_id, hop, root_row).
    """
    n_roots = r_trade_id.shape[0]
    n_copies = copy_start[n_roots]
    n = n_roots + n_copies
    trade_id = np.empty(n, dtype=np.int64)
    account = np.empty(n, dtype=np.int32)
    amount = np.empty(n, dtype=np.float64)
    fee = np.empty(n, dtype=np.float64)
    pnl = np.empty(n, dtype=np.float64)
    parent_trade_id = np.empty(n, dtype=np.int64)
    hop = np.empty(n, dtype=np.int16)
    root_row = np.empty(n, dtype=np.int32)
    deep = c_parent.shape[0] > 0
    n_groups = group_start.shape[0] - 1
    for g in prange(n_groups):
        r_lo = group_start[g]
        r_hi = group_start[g + 1]
        p = r_lo + copy_start[r_lo]
        for r in range(r_lo, r_hi):
            trade_id[p] = r_trade_id[r]
            account[p] = r_trader[r]
            amount[p] = r_amount[r]
            fee[p] = r_fee[r]
            pnl[p] = r_pnl[r]
            parent_trade_id[p] = -1
            hop[p] = 0
            root_row[p] = r
            p += 1
        for r in range(r_lo, r_hi):
            for k in range(copy_start[r], copy_start[r + 1]):
                a = c_amount[k]
                if deep and c_parent[k] >= 0:
                    # the parent copy was written just before, k - parent rows back
                    pp = p - (k - c_parent[k])
                    fee_k = fee[pp] * a / amount[pp]
                    parent_trade_id[p] = first_copy_id + c_parent[k]
                    hop[p] = c_hop[k]
                else:
                    fee_k = r_fee[r] * a / r_amount[r]
                    parent_trade_id[p] = r_trade_id[r]
                    hop[p] = 1
                trade_id[p] = first_copy_id + k
                account[p] = c_acct[k]
                amount[p] = a
                fee[p] = fee_k
                pnl[p] = a * r_gross[r] - fee_k if r_valued[r] else 0.0
                root_row[p] = r
                p += 1
    return trade_id, account, amount, fee, pnl, parent_trade_id, hop, root_row
