"""The executor interface: run trial configs somewhere and report what happens to each.

An executor never touches the store: it calls back a `TrialEvents` (the engine's recorder, which
writes each event to the store as it happens) and stops early when ``should_stop()`` says so.
Implementations, one per file: `LocalExecutor` (in this process) and `RayExecutor` (long-lived
actors on a local machine or a cluster).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Protocol

from sweeps.domain import Metric, TrialResult
from sweeps.spec import TrialConfig

ShouldStop = Callable[[], bool]


class TrialEvents(Protocol):
    """What an executor reports about each trial it runs."""

    def started(self, config: TrialConfig, worker: str) -> None:
        """The trial started on ``worker`` (``host:pid``)."""

    def finished(self, config: TrialConfig, result: TrialResult) -> None:
        """The trial ran to its end or diverged; ``result`` has all its metrics."""

    def failed(self, config: TrialConfig, error: str, retry: bool) -> None:
        """The trial raised or its worker died; ``retry``: it will run again."""

    def progress(self, config: TrialConfig, records: list[Metric]) -> None:
        """New metrics of a running trial (every few seconds; for watching only)."""


class Executor(ABC):
    """Runs trials and reports on them (see the module docstring)."""

    @abstractmethod
    def run(self, configs: Sequence[TrialConfig], events: TrialEvents, should_stop: ShouldStop) -> bool:
        """Runs ``configs`` to the end; False if it stopped early because ``should_stop()`` said so.

        Running trials are stopped when it does; a trial that raises is reported ``failed`` and
        the others go on.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op unless the executor holds workers
        """Releases workers (nothing to release by default)."""
