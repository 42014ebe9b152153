"""Pure Numba kernels: numpy arrays and scalars in, numpy arrays out.

- `accounting`: position PnL, marks to prices, parent chains (docs/contract.md §3);
- `replay`, `fanout`, `order`: the copy replay (any depth; the depth-1 fan-out; closes in
  time order) and book assembly (docs/contract.md §4);
- `metrics`: per-account equity events, metrics, daily PnL, equity index (docs/contract.md §3);
- `votes`, `strategy`, `exposure`: the §5 strategies' votes, selections and copies;
- `bootstrap`: the per-subject bootstrap's replicate means (numpy's summation order);
- `graph`, `analytics`: the §6 analytics; `synth`: the synthetic platform.

Kernels do no validation: the API layer (`ideaflow.engine`) checks and converts first.
"""
