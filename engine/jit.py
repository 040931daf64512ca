"""Numba kernels compiled on first call, so importing the engine (every CLI command, the
window) does not pay numba's own import (about 0.25 s here) until a kernel runs."""

from __future__ import annotations

import functools
from collections.abc import Callable


class LazyJit:
    """``njit(**options)(fn)``, built on the first call. ``depends``: names of other lazy
    kernels ``fn`` calls; they are compiled first and put in its module's globals in their
    place (numba calls a compiled function, not this wrapper). ``py_func`` is ``fn``."""

    def __init__(self, fn: Callable, options: dict, depends: tuple[str, ...] = ()) -> None:
        self.py_func = fn
        self.options = options
        self.depends = depends
        self._compiled = None
        functools.update_wrapper(self, fn)

    def compiled(self):
        if self._compiled is None:
            from numba import njit

            for name in self.depends:
                dep = self.py_func.__globals__[name]
                if isinstance(dep, LazyJit):
                    self.py_func.__globals__[name] = dep.compiled()
            self._compiled = njit(**self.options)(self.py_func)
        return self._compiled

    def __call__(self, *args):
        return self.compiled()(*args)


def lazy_njit(*, depends: tuple[str, ...] = (), **options) -> Callable[[Callable], LazyJit]:
    """Decorator: ``@lazy_njit(cache=True)`` in place of ``@njit(cache=True)``."""
    return lambda fn: LazyJit(fn, options, depends)


__all__ = ["LazyJit", "lazy_njit"]
