"""ideaflow: a research backtester for social (copy) trading."""

from __future__ import annotations

__version__ = "0.1.0"
