"""The tuning (nudge) experiment on the synthetic platform (docs/experiments.md).

One cell = one platform draw. From `start_day` days after the first trade (t0), a random
share of the eligible traders (the treated; a draw of its own stream, so the platform's
market, ideas and social draws are exactly those of the untreated run) start mirroring one
recommended leader with `allocation` of their initial equity. Arms (same treated traders
in every arm, so arms are paired too):

- `complementary`: the best trailing performer among the leaders whose style cluster is
  in the farther half of the clusters from the treated trader's own style vector;
- `top`: the best trailing performer on the platform;
- `random`: a leader drawn uniformly (seeded).

Leaders are traders with >= `min_history` positions closed in the trailing window
[t0 - window_days, t0); trailing performance = their realised PnL there / initial equity;
styles are `ideaflow.styles` vectors of that window, clustered with KMeans (`n_clusters`
of the platform). A trader is never recommended himself or a leader he mirrors at t0 or
later in the untreated run.
Eligible traders: at least one position closed in the window (a style vector) and at
least one own idea after t0. Control: the eligible traders not treated and not downstream of
a treated trader in the follow graph after t0 (a copy is sized by its leader's equity,
which a nudge changes, so a nudge reaches the followers of the treated, their followers,
and so on); the experiment leaves every other account's PnL exactly as in the untreated
run.

Both runs are replayed by the engine's `mirror` rule from the same original ideas and
follows (the untreated run's follows, plus the nudges in the treated run), so every
difference between the runs is the nudge's. Outcomes, per treated trader, as ROI per 30
days (PnL per day / initial equity x 30) in the whole UTC days before t0 (a midnight)
and from t0 to the end:

- `roi30_vs_untreated`: after t0, treated run minus the same trader in the untreated run
  (the exact counterfactual, paired by seed);
- `roi30_vs_control`: difference in differences, (after - before) of the treated minus
  (after - before) of the control, in the treated run;
- `roi30_vs_pre`: after minus before, treated;
- `copies_per_day_change`: ideas copied per day after t0 (the idea flow reaching the
  trader), treated run minus untreated run;
- `source_clusters_change`: distinct style clusters of the leaders whose ideas reached the
  trader after t0 (source diversity), treated run minus untreated run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ideaflow.data import NS_PER_DAY, Dataset
from ideaflow.engine import ReplayConfig, replay
from ideaflow.errors import ParameterError
from ideaflow.experiments.effects import summarize
from ideaflow.experiments.spec import Cell, ExperimentSpec, Tuning
from ideaflow.io import dataset_from_frames
from ideaflow.styles import fit_style_clusters, style_features
from ideaflow.synth import generate

MEASURES = (
    "roi30_vs_untreated",
    "roi30_vs_control",
    "roi30_vs_pre",
    "copies_per_day_change",
    "source_clusters_change",
)
TREATMENT_STREAM = 0x7E57  # the treatment's own random stream (the platform's are 0x1DEA)


def _originals_and_follows(seed: int, preset: str, overrides: dict) -> tuple[pa.Table, ...]:
    platform = generate(preset, seed=seed, overrides=overrides)
    originals = platform.trades.filter(pc.is_null(platform.trades.column("parent_trade_id")))
    return originals, platform.follows, platform.prices, platform.accounts, platform.params


class _Run:
    """One mirror replay: per trader, PnL before / after t0, copies and their sources."""

    def __init__(self, ds: Dataset, t0: int):
        result = replay(ds, ReplayConfig(strategy="mirror", depth=1))
        daily = result.daily(ds)
        after = daily.day >= t0 // NS_PER_DAY  # UTC day numbers; t0 is a midnight
        n = ds.n_traders
        self.pnl_pre = np.bincount(daily.account[~after], daily.pnl[~after], minlength=n)
        self.pnl_post = np.bincount(daily.account[after], daily.pnl[after], minlength=n)
        book = result.book
        copy = (book.hop > 0) & (book.open_time >= t0)
        self.copy_account = book.account[copy]
        # the leader of a copy: the trader of its original (trade ids are unique)
        order = np.argsort(ds.trades.trade_id)
        pos = np.searchsorted(ds.trades.trade_id[order], book.root_trade_id[copy])
        self.copy_source = ds.trades.trader[order[pos]]
        self.n = n

    def copies(self) -> np.ndarray:
        return np.bincount(self.copy_account, minlength=self.n)

    def source_clusters(self, cluster_of: np.ndarray) -> np.ndarray:
        """Distinct clusters (traders without a style vector: one more group) per trader."""
        label = cluster_of[self.copy_source].astype(np.int64)
        label[label < 0] = cluster_of.max() + 1
        pairs = np.unique(self.copy_account.astype(np.int64) * 1_000_003 + label)
        return np.bincount(pairs // 1_000_003, minlength=self.n)


def _recommend(
    tuning: Tuning,
    treated: np.ndarray,
    cluster_of: np.ndarray,
    centers: np.ndarray,
    scaled_of: dict[int, np.ndarray],
    perf: np.ndarray,
    leaders: np.ndarray,
    already: set[tuple[int, int]],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The recommended leader of every treated trader in each arm (-1: none available)."""
    # leaders best first, ties by lowest code
    ranked = leaders[np.lexsort((leaders, -perf[leaders]))]
    out = {arm: np.full(treated.shape[0], -1, dtype=np.int64) for arm in tuning.arms}
    for i, trader in enumerate(treated):
        allowed = (
            ranked[np.array([c != trader and (int(trader), int(c)) not in already for c in ranked])]
            if len(ranked)
            else ranked
        )
        if not len(allowed):
            continue
        if "top" in out:
            out["top"][i] = allowed[0]
        if "random" in out:
            out["random"][i] = allowed[rng.integers(len(allowed))]
        if "complementary" in out:
            distance = np.linalg.norm(centers - scaled_of[int(trader)], axis=1)
            far_first = np.argsort(-distance, kind="stable")
            far = set(far_first[: max(1, len(far_first) // 2)].tolist())
            pick = [c for c in allowed if int(cluster_of[c]) in far]
            out["complementary"][i] = pick[0] if pick else allowed[0]
    return out


def run_tuning_cell(spec: ExperimentSpec, cell: Cell) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One platform draw of the tuning experiment: (rows per arm x measure, per treated
    trader and arm)."""
    tuning = spec.tuning
    assert tuning is not None and spec.preset is not None
    originals, follows, prices, accounts, params = _originals_and_follows(
        cell.seed, spec.preset, dict(cell.overrides)
    )
    ds0 = dataset_from_frames(originals, follows, prices, accounts)
    trades = ds0.trades
    first = int(trades.open_time.min())
    # the first UTC midnight at or after start_day days from the first trade
    t0 = -(-(first + int(round(tuning.start_day * NS_PER_DAY))) // NS_PER_DAY) * NS_PER_DAY
    if t0 >= ds0.data_end:
        raise ParameterError(
            f"experiment spec: `tuning.start_day`: {tuning.start_day} days is past the end "
            f"of the platform's {params.days} days"
        )
    window = int(round(tuning.window_days * NS_PER_DAY))
    feats = style_features(ds0, t0 - window, t0, min_history=1)
    if len(feats) < 2:
        raise ParameterError(
            "experiment spec: `tuning.window_days`: fewer than two traders closed a "
            "position in the window before the start; lengthen it or start later"
        )
    n_clusters = min(params.n_clusters, len(feats))
    clusters = fit_style_clusters(feats.matrix, n_clusters, seed=cell.seed)
    cluster_of = np.full(ds0.n_traders, -1, dtype=np.int64)
    cluster_of[feats.traders] = clusters.labels
    scaled_of = {int(t): clusters.scaled[i] for i, t in enumerate(feats.traders)}
    perf = np.full(ds0.n_traders, -np.inf)
    perf[feats.traders] = feats.pnl / ds0.initial_equity[feats.traders]
    leaders = feats.traders[feats.n_closed >= tuning.min_history].astype(np.int64)
    # eligible: a style vector at t0 and an own idea after it
    later = np.zeros(ds0.n_traders, dtype=bool)
    later[trades.trader[(trades.parent < 0) & (trades.open_time >= t0)]] = True
    has_style = np.zeros(ds0.n_traders, dtype=bool)
    has_style[feats.traders] = True
    eligible = np.flatnonzero(has_style & later)
    rng = np.random.default_rng(np.random.SeedSequence([cell.seed, TREATMENT_STREAM]))
    n_treated = int(round(tuning.share * len(eligible)))
    if n_treated < 1 or n_treated >= len(eligible):
        raise ParameterError(
            f"experiment spec: `tuning.share`: {tuning.share} of {len(eligible)} eligible "
            "traders leaves no treated or no control group"
        )
    treated = np.sort(rng.choice(eligible, size=n_treated, replace=False))
    f = ds0.follows
    # never a leader the trader mirrors at t0 or will mirror later (one follow per pair
    # at a time, docs/contract.md §2)
    in_force = t0 < f.end_time
    already = set(zip(f.follower[in_force].tolist(), f.leader[in_force].tolist()))
    picks = _recommend(
        tuning,
        treated,
        cluster_of,
        clusters.centers,
        scaled_of,
        perf,
        leaders,
        already,
        rng,
    )
    is_treated = np.zeros(ds0.n_traders, dtype=bool)
    is_treated[treated] = True
    # a copy is sized by its leader's equity, which a nudge changes: every trader
    # downstream of a treated one in the follow graph (after t0) is exposed, not a control
    active = f.end_time > t0
    exposed = is_treated.copy()
    while True:
        reached = exposed.copy()
        reached[f.follower[active & exposed[f.leader]]] = True
        if (reached == exposed).all():
            break
        exposed = reached
    control = np.setdiff1d(eligible, treated)
    control = control[~exposed[control]]

    base = _Run(ds0, t0)
    # whole UTC days before t0 (from the first trade's day) and from t0 to the end
    pre_days = t0 // NS_PER_DAY - first // NS_PER_DAY
    post_days = ds0.data_end // NS_PER_DAY - t0 // NS_PER_DAY + 1
    equity = ds0.initial_equity

    def roi30(run: _Run) -> tuple[np.ndarray, np.ndarray]:
        return (
            run.pnl_pre / equity / pre_days * 30.0,
            run.pnl_post / equity / post_days * 30.0,
        )

    base_pre, base_post = roi30(base)
    base_copies = base.copies() / post_days
    base_sources = base.source_clusters(cluster_of)
    ids = ds0.trader_ids
    rows, subjects = [], []
    for arm in tuning.arms:
        leader = picks[arm]
        nudged = treated[leader >= 0]
        to = leader[leader >= 0]
        extra = pa.table(
            {
                "follower_id": ids[nudged],
                "leader_id": ids[to],
                "start_time": pa.array(np.full(len(nudged), t0), pa.int64()).cast(
                    pa.timestamp("ns", tz="UTC")
                ),
                "end_time": pa.nulls(len(nudged), pa.timestamp("ns", tz="UTC")),
                "allocation": tuning.allocation * equity[nudged],
            }
        )
        nudged_follows = pa.concat_tables([follows, extra.cast(follows.schema)])
        ds1 = dataset_from_frames(originals, nudged_follows, prices, accounts)
        assert np.array_equal(ds1.trader_ids, ids)
        run = _Run(ds1, t0)
        pre, post = roi30(run)
        copies = run.copies() / post_days
        sources = run.source_clusters(cluster_of)
        t, c = treated, control
        values = {
            "roi30_vs_untreated": post[t] - base_post[t],
            "roi30_vs_control": np.full(len(t), np.mean(post[c] - pre[c])),
            "roi30_vs_pre": post[t] - pre[t],
            "copies_per_day_change": copies[t] - base_copies[t],
            "source_clusters_change": (sources[t] - base_sources[t]).astype(float),
        }
        values["roi30_vs_control"] = values["roi30_vs_pre"] - values["roi30_vs_control"]
        for measure in MEASURES:
            rows.append(
                {
                    "arm": arm,
                    "measure": measure,
                    "value": float(np.mean(values[measure])),
                    "n_treated": int(len(t)),
                    "n_nudged": int(len(nudged)),
                    "n_control": int(len(c)),
                    "start": pd.Timestamp(t0, tz="UTC"),
                }
            )
        subjects.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "trader_id": ids[t],
                    "leader_id": np.where(leader >= 0, ids[np.maximum(leader, 0)], -1),
                    "own_cluster": cluster_of[t],
                    "leader_cluster": np.where(leader >= 0, cluster_of[np.maximum(leader, 0)], -1),
                    "leader_trailing_roi": np.where(
                        leader >= 0, perf[np.maximum(leader, 0)], np.nan
                    ),
                    "roi30_pre": pre[t],
                    "roi30_post": post[t],
                    "roi30_post_untreated": base_post[t],
                    "copies_per_day": copies[t],
                    "copies_per_day_untreated": base_copies[t],
                    "source_clusters": sources[t],
                    "source_clusters_untreated": base_sources[t],
                }
            )
        )
    keys = cell.keys
    table = pd.DataFrame(rows)
    front = pd.DataFrame({k: [v] * len(table) for k, v in keys.items()})
    per_subject = pd.concat(subjects, ignore_index=True)
    front_s = pd.DataFrame({k: [v] * len(per_subject) for k, v in keys.items()})
    return (
        pd.concat([front, table], axis=1),
        pd.concat([front_s, per_subject], axis=1),
    )


def tuning_effects(cells: pd.DataFrame, settings: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-seed values, effects across seeds) per setting, arm and measure."""
    per_seed = cells[["seed", *settings, "arm", "measure", "value"]].reset_index(drop=True)
    return per_seed, summarize(per_seed, [*settings, "arm", "measure"])
