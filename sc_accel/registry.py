"""One registry helper for everything the suite builds by name (ground floor).

The model zoo (`scnas.zoo.MODELS`), recast's blocks (`recast.blocks.BLOCKS`) and nas's ops
(`nas.ops.OPS`) are each a `Registry`: register a factory under a name, create by name,
list the names, ask whether a name is known, remove one. An unknown name raises one sentence that lists
the known ones. A registry reads like a read-only mapping (`name in R`, `R[name]`, `sorted(R)`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

from sc_accel.errors import InvalidInputError

__all__ = ["Registry"]

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Mapping[str, Callable[..., Any]], Generic[F]):
    """Factories by name. `kind` names what it holds in messages ("model", "block type", "op")."""

    def __init__(self, kind: str, error: type[Exception] = InvalidInputError, reserved: str = "") -> None:
        self.kind = kind
        self.error = error
        self.reserved = reserved  # characters a name may not hold (e.g. nas's ':' separator)
        self._factories: dict[str, Callable[..., Any]] = {}

    @overload
    def register(self, name: str) -> Callable[[F], F]: ...

    @overload
    def register(self, name: str, factory: F) -> F: ...

    def register(self, name: str, factory: F | None = None) -> F | Callable[[F], F]:
        """Add (or replace) `name`; without `factory`, a decorator that adds the function below it."""
        if not isinstance(name, str) or not name or any(c in name for c in self.reserved):
            without = f" without {', '.join(map(repr, self.reserved))}" if self.reserved else ""
            raise self.error(f"{self.kind} name {name!r} must be a non-empty string{without}.")
        if factory is None:
            def wrap(fn: F) -> F:
                self._factories[name] = fn
                return fn
            return wrap
        if not callable(factory):
            raise self.error(f"the factory for {self.kind} {name!r} must be callable, got {type(factory).__name__}.")
        self._factories[name] = factory
        return factory

    def unregister(self, name: str) -> None:
        """Remove `name` (checked), e.g. a factory a test registered for its own use."""
        self.check(name)
        del self._factories[name]

    def check(self, name: str) -> None:
        """Raise one sentence when `name` is not registered."""
        if not isinstance(name, str) or name not in self._factories:
            raise self.error(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}.")

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
