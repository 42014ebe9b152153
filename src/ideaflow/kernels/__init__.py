"""Pure Numba kernels: numpy arrays and scalars in, numpy arrays out.

- `accounting`: position PnL, marks to prices, parent chains (docs/contract.md §3);
- `replay`: the copy-replay event loop with fan-out, and book assembly (docs/contract.md §4);
- `metrics`: per-account equity events, metrics, daily PnL, equity index (docs/contract.md §3).

Kernels do no validation: the API layer (`ideaflow.engine`) checks and converts first.
"""
