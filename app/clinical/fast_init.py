"""``fast_init``: a faster ``__init__`` for the frozen dataclasses built on every decision.

The generated ``__init__`` of a frozen dataclass stores each field through
``object.__setattr__`` (one call per field, about twice the cost of the whole init below);
this one writes the instance ``__dict__`` directly, which is what that call does for a plain
field. Same signature and defaults; ``__eq__``, ``__hash__``, ``__repr__`` and the frozen
``__setattr__`` are untouched.
"""

from __future__ import annotations

import dataclasses
from types import FunctionType
from typing import TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen dataclass ``cls`` the direct ``__dict__`` ``__init__``; only a plain
    one (no slots, ``__post_init__``, ``InitVar``, ``ClassVar``, ``default_factory``,
    ``init=False`` or keyword-only field) is accepted."""
    params = getattr(cls, "__dataclass_params__", None)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    plain = (
        params is not None
        and params.frozen
        and "__slots__" not in cls.__dict__
        and not hasattr(cls, "__post_init__")
        and len(fields) == len(cls.__dataclass_fields__)  # type: ignore[attr-defined]
        and all(
            f.init and not f.kw_only and f.default_factory is dataclasses.MISSING for f in fields
        )
    )
    if not plain:
        raise TypeError(f"{cls.__qualname__} is not a plain frozen dataclass")
    defaults: dict[str, object] = {
        f"_default_{f.name}": f.default for f in fields if f.default is not dataclasses.MISSING
    }
    args = ", ".join(
        f.name if f.default is dataclasses.MISSING else f"{f.name}=_default_{f.name}"
        for f in fields
    )
    body = "".join(f"    _fi_dict[{f.name!r}] = {f.name}\n" for f in fields)
    source = f"def __init__(_fi_self, {args}):\n    _fi_dict = _fi_self.__dict__\n{body}"
    namespace = dict(defaults)
    exec(source, namespace)  # the way ``dataclasses`` itself builds ``__init__``
    init = namespace["__init__"]
    assert isinstance(init, FunctionType)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
