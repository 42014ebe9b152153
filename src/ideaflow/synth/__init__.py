"""The synthetic social-trading platform generator (presets, parameters, ground truth).

    from ideaflow.synth import generate, PRESETS
    platform = generate("small", seed=0, out="data/small")

See `datasets/README.md` for the model, every parameter and the presets.
"""

from __future__ import annotations

from ideaflow.synth.generate import GeneratedPlatform, generate
from ideaflow.synth.params import (
    PRESETS,
    SynthParams,
    apply_overrides,
    parse_overrides,
    resolve_params,
)

__all__ = [
    "PRESETS",
    "GeneratedPlatform",
    "SynthParams",
    "apply_overrides",
    "generate",
    "parse_overrides",
    "resolve_params",
]
