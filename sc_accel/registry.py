"""One registry helper for everything the suite builds by name (ground floor).

The model zoo (`scnas.zoo.MODELS`), recast's blocks (`recast.blocks.BLOCKS`) and nas's ops
(`nas.ops.OPS`) are each a `Registry`: register a factory under a name, create by name,
list the names, ask whether a name is known, remove one. An unknown name raises one sentence that lists
the known ones. A registry reads like a read-only mapping (`name in R`, `R[name]`, `sorted(R)`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

from sc_accel.errors import InvalidInputError

__all__ = ["Registry"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # no ',' or ':' (list and genotype separators)

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Mapping[str, Callable[..., Any]], Generic[F]):
    """Factories by name. `kind` names what it holds in messages ("model", "block type", "op")."""

    def __init__(self, kind: str, error: type[Exception] = InvalidInputError) -> None:
        self.kind = kind
        self.error = error
        self._factories: dict[str, Callable[..., Any]] = {}

    @overload
    def register(self, name: str) -> Callable[[F], F]: ...

    @overload
    def register(self, name: str, factory: F) -> F: ...

    def register(self, name: str, factory: F | None = None) -> F | Callable[[F], F]:
        """Add `name` (a new one: replacing a factory the suite builds with would change what old
        files load into); without `factory`, a decorator that adds the function below it."""
        self._check_new(name)
        if factory is None:
            def wrap(fn: F) -> F:
                self._add(name, fn)
                return fn
            return wrap
        self._add(name, factory)
        return factory

    def _check_new(self, name: object) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise self.error(f"{self.kind} name {name!r} must be letters, digits, '_', '-' or '.', starting with a "
                             "letter or digit (commas and ':' separate names in lists and genotypes).")
        if name in self._factories:
            raise self.error(f"a {self.kind} named {name!r} is already registered; pick another name or unregister "
                             "it first.")

    def _add(self, name: str, factory: object) -> None:
        if not callable(factory):
            raise self.error(f"the factory for {self.kind} {name!r} must be callable, got {type(factory).__name__}.")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        """Remove `name` (checked), e.g. a factory a test registered for its own use."""
        self.check(name)
        del self._factories[name]

    def check(self, name: str) -> None:
        """Raise one sentence when `name` is not registered."""
        if not isinstance(name, str) or name not in self._factories:
            known = f"choose one of {', '.join(self.names())}" if self._factories else f"no {self.kind} is registered"
            raise self.error(f"unknown {self.kind} {name!r}; {known}.")

    def get_factory(self, name: str) -> Callable[..., Any]:
        """The factory registered under `name` (checked)."""
        self.check(name)
        return self._factories[name]

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """factory(*args, **kwargs) for the registered `name`."""
        return self.get_factory(name)(*args, **kwargs)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._factories)

    def is_known(self, name: object) -> bool:
        """Whether `name` is registered."""
        return isinstance(name, str) and name in self._factories

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self._factories[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
