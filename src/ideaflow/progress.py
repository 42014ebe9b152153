"""Named, timed stages of a long command, with a progress bar over them when asked for."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm


class Stages:
    """Seconds spent per stage name (summed when a stage runs more than once), and a tqdm
    bar that advances one step per stage when `progress` is true."""

    def __init__(self, names: Sequence[str], progress: bool, desc: str, leave: bool = True):
        self.timings: dict[str, float] = {}
        self._bar: Any = None
        if progress:
            self._bar = tqdm(total=len(names), desc=desc, unit="stage", leave=leave)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._bar is not None:
            self._bar.set_postfix_str(name)
        started = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
