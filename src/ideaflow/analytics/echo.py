"""Echo-chamber index (docs/contract.md §6): how closed the circle around a trader is.

Definitions used here (ties are directed follow relations over the whole data: a → b when
a ever followed b; several intervals of one pair are one tie):
- *Tie density* among u's m leaders (same leader set as the diversity: ever, or at the
  end) = number of directed ties a → b with a, b both leaders of u / (m (m - 1));
  NaN when m < 2. Leaders who all follow one another give 1.
- *Reciprocity* of u = share of u's ties, outgoing (u → v) and incoming (w → u), whose
  reverse tie exists = 2 |leaders ∩ followers| / (|leaders| + |followers|); NaN when u has
  no tie. A 3-cycle of follows gives 0, a mutual pair 1.
"""

from __future__ import annotations

import numpy as np

from ideaflow.analytics._graph import follower_sets, leader_sets
from ideaflow.data import Dataset
from ideaflow.kernels.analytics import reciprocity_nb, tie_density_nb


def echo_chamber(ds: Dataset, *, leaders: str = "ever") -> dict[str, np.ndarray]:
    """Per-trader columns tie_density and reciprocity (see module docstring)."""
    member_indptr, member = leader_sets(ds, leaders)
    out_indptr, out_nbr = leader_sets(ds, "ever")
    in_indptr, in_nbr = follower_sets(ds)
    out_nbr64 = out_nbr.astype(np.int64)
    density = tie_density_nb(member_indptr, member.astype(np.int64), out_indptr, out_nbr64)
    reciprocity = reciprocity_nb(out_indptr, out_nbr64, in_indptr, in_nbr.astype(np.int64))
    return {"tie_density": density, "reciprocity": reciprocity}
