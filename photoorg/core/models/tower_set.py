"""Which of a CLIP model's towers are in memory and in use, for either runtime.

The torch :class:`~photoorg.core.models.embedder.Embedder` and the onnxruntime
:class:`~photoorg.core.models.light.LightEmbedder` keep the same books: a tower loads when
first used; a *lean* one holds one tower at a time and lets every tower go when told it is
idle; a tower in use is never let go. Each says how a tower comes and goes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Iterator
from typing import Any

from photoorg.core.models.towers import TOWERS


class TowerSet:
    """The books; a subclass calls :meth:`_init_towers` and writes the four hooks, which
    run under the towers' lock."""

    lean: bool

    def _init_towers(self, lean: bool) -> None:
        self.lean = lean
        self._towers = threading.Lock()
        self._in_use = dict.fromkeys(TOWERS, 0)

    def _resident(self) -> Collection[str]:
        """The towers in memory now."""
        raise NotImplementedError

    def _load_tower(self, name: str) -> Any:
        """Make ``name`` resident (a no-op when it is); returns what encoding uses."""
        raise NotImplementedError

    def _drop_tower(self, name: str) -> None:
        """Let a resident tower go."""
        raise NotImplementedError

    def _may_release(self) -> bool:
        """Whether a tower let go can be made again."""
        return True

    @property
    def loaded(self) -> set[str]:
        """The towers in memory now ("visual", "text")."""
        with self._towers:
            return set(self._resident())

    def load(self, *names: str) -> None:
        """Load towers now (by default each loads when first used)."""
        with self._towers:
            for name in names:
                self._get(name)

    def release(self, *names: str) -> None:
        """Let towers go (every one when none is named) until next used; a tower in use
        stays."""
        if not self._may_release():
            return
        with self._towers:
            for name in names or TOWERS:
                if name in self._resident() and not self._in_use[name]:
                    self._drop_tower(name)

    def idle(self) -> None:
        """Nothing will be encoded for a while: a lean embedder lets its towers go."""
        if self.lean:
            self.release()

    def _get(self, name: str) -> Any:
        if name not in TOWERS:
            raise ValueError(f"unknown tower {name!r}; one of {TOWERS}")
        return self._load_tower(name)

    @contextlib.contextmanager
    def _using(self, name: str) -> Iterator[Any]:
        with self._towers:
            if self.lean:  # one tower at a time
                for other in TOWERS:
                    if other != name and other in self._resident() and not self._in_use[other]:
                        self._drop_tower(other)
            handle = self._get(name)
            self._in_use[name] += 1
        try:
            yield handle
        finally:
            with self._towers:
                self._in_use[name] -= 1
