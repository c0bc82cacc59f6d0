"""Forward-mode automatic differentiation for expression surfaces, to second order.

An expression becomes a tree of the small node classes below. Compiling a tree for an order
k in (0, 1, 2) gives a function (x, y) -> jet: (f,), (f, f_x, f_y) or
(f, f_x, f_y, f_xx, f_xy, f_yy). Each node combines its children's jets by the chain and
product rules, so derivatives are exact (no finite differences) and all rows are evaluated
in one array operation per node.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Jet = tuple[Any, ...]
JetFn = Callable[[Any, Any], Jet]


class Node:
    def compile(self, order: int) -> JetFn:
        raise NotImplementedError


@dataclass(frozen=True)
class Const(Node):
    value: float

    def compile(self, order: int) -> JetFn:
        # A numpy scalar, so that arithmetic on constants follows numpy's rules (1/0 is inf, not
        # a ZeroDivisionError), whatever the tree around it.
        jet = (np.float64(self.value),) + (0.0,) * (0, 2, 5)[order]
        return lambda x, y: jet


@dataclass(frozen=True)
class Var(Node):
    index: int  # 0 for x, 1 for y

    def compile(self, order: int) -> JetFn:
        seed = ((1.0, 0.0), (0.0, 1.0))[self.index][: 2 if order else 0] + (0.0,) * (0, 0, 3)[order]
        if self.index == 0:
            return lambda x, y: (x, *seed)
        return lambda x, y: (y, *seed)


@dataclass(frozen=True)
class Unary(Node):
    """g(a) for a smooth g given as g(v), g'(v, g(v)) and g''(v, g(v))."""

    name: str
    f: Callable[[Any], Any]
    df: Callable[[Any, Any], Any]
    d2f: Callable[[Any, Any], Any]
    arg: Node

    def compile(self, order: int) -> JetFn:
        fa, f, df, d2f = self.arg.compile(order), self.f, self.df, self.d2f
        if order == 0:
            return lambda x, y: (f(fa(x, y)[0]),)
        if isinstance(self.arg, Var):  # g(x) or g(y), the commonest case: skip the zero products
            return self._of_variable(order)
        if order == 1:

            def first(x, y):
                v, gx, gy = fa(x, y)
                fv = f(v)
                d = df(v, fv)
                return fv, d * gx, d * gy

            return first

        def second(x, y):
            v, gx, gy, hxx, hxy, hyy = fa(x, y)
            fv = f(v)
            d, d2 = df(v, fv), d2f(v, fv)
            return fv, d * gx, d * gy, d * hxx + d2 * gx * gx, d * hxy + d2 * gx * gy, d * hyy + d2 * gy * gy

        return second

    def _of_variable(self, order: int) -> JetFn:
        f, df, d2f, on_y = self.f, self.df, self.d2f, self.arg.index == 1  # type: ignore[attr-defined]

        def first(x, y):
            v = y if on_y else x
            fv = f(v)
            d = df(v, fv)
            return (fv, 0.0, d) if on_y else (fv, d, 0.0)

        def second(x, y):
            v = y if on_y else x
            fv = f(v)
            d, d2 = df(v, fv), d2f(v, fv)
            return (fv, 0.0, d, 0.0, 0.0, d2) if on_y else (fv, d, 0.0, d2, 0.0, 0.0)

        return first if order == 1 else second


@dataclass(frozen=True)
class Add(Node):
    a: Node
    b: Node
    negate_b: bool = False  # a - b

    def compile(self, order: int) -> JetFn:
        op = operator.sub if self.negate_b else operator.add
        if isinstance(self.b, Const):  # a +- c only shifts the value
            fa, c = self.a.compile(order), self.b.value

            def shifted(x, y):
                t = fa(x, y)
                return (op(t[0], c), *t[1:])

            return shifted
        fa, fb = self.a.compile(order), self.b.compile(order)
        return lambda x, y: tuple(map(op, fa(x, y), fb(x, y)))


@dataclass(frozen=True)
class Scale(Node):
    """c * a, and -a as c = -1."""

    c: float
    a: Node

    def compile(self, order: int) -> JetFn:
        fa, c = self.a.compile(order), self.c
        if c == -1.0:
            return lambda x, y: tuple(map(operator.neg, fa(x, y)))
        return lambda x, y: tuple(c * t for t in fa(x, y))


@dataclass(frozen=True)
class Mul(Node):
    a: Node
    b: Node

    def compile(self, order: int) -> JetFn:
        fa, fb = self.a.compile(order), self.b.compile(order)
        if order == 0:
            return lambda x, y: (fa(x, y)[0] * fb(x, y)[0],)
        if order == 1:

            def first(x, y):
                a, ax, ay = fa(x, y)
                b, bx, by = fb(x, y)
                return a * b, a * bx + ax * b, a * by + ay * b

            return first

        def second(x, y):
            a, ax, ay, axx, axy, ayy = fa(x, y)
            b, bx, by, bxx, bxy, byy = fb(x, y)
            return (
                a * b,
                a * bx + ax * b,
                a * by + ay * b,
                a * bxx + 2.0 * ax * bx + axx * b,
                a * bxy + ax * by + ay * bx + axy * b,
                a * byy + 2.0 * ay * by + ayy * b,
            )

        return second


@dataclass(frozen=True)
class Choose(Node):
    """minimum(a, b) or maximum(a, b): the jet of whichever argument is chosen, row by row."""

    a: Node
    b: Node
    smaller: bool

    def compile(self, order: int) -> JetFn:
        fa, fb = self.a.compile(order), self.b.compile(order)
        pick_a = operator.le if self.smaller else operator.ge

        def choose(x, y):
            ja, jb = fa(x, y), fb(x, y)
            mask = pick_a(ja[0], jb[0])
            return tuple(np.where(mask, p, q) for p, q in zip(ja, jb))

        return choose


def power(exponent: float) -> tuple[Callable, Callable, Callable]:
    """v ** c and its derivatives, with zero coefficients kept exactly zero (no 0 * inf at v = 0)."""
    c = float(exponent)
    if c == 2.0:
        return (lambda v: v * v), (lambda v, fv: 2.0 * v), (lambda v, fv: 2.0)
    c1, c2 = c * (c - 1.0), c - 2.0
    df = (lambda v, fv: c * np.power(v, c - 1.0)) if c != 0.0 else (lambda v, fv: 0.0)
    d2f = (lambda v, fv: c1 * np.power(v, c2)) if c1 != 0.0 else (lambda v, fv: 0.0)
    return (lambda v: np.power(v, c)), df, d2f


def _recip_d2(v, fv):
    return 2.0 * fv * fv * fv


# name -> (g, g', g''); the derivatives take (v, g(v)) so they can reuse the value.
FUNCTIONS: dict[str, tuple[Callable, Callable, Callable]] = {
    "sin": (np.sin, lambda v, fv: np.cos(v), lambda v, fv: -fv),
    "cos": (np.cos, lambda v, fv: -np.sin(v), lambda v, fv: -fv),
    "tan": (np.tan, lambda v, fv: 1.0 + fv * fv, lambda v, fv: 2.0 * fv * (1.0 + fv * fv)),
    "exp": (np.exp, lambda v, fv: fv, lambda v, fv: fv),
    "log": (np.log, lambda v, fv: 1.0 / v, lambda v, fv: -1.0 / (v * v)),
    "sqrt": (np.sqrt, lambda v, fv: 0.5 / fv, lambda v, fv: -0.25 / (fv * fv * fv)),
    "abs": (np.abs, lambda v, fv: np.sign(v), lambda v, fv: 0.0),
    "tanh": (np.tanh, lambda v, fv: 1.0 - fv * fv, lambda v, fv: -2.0 * fv * (1.0 - fv * fv)),
    "sinh": (np.sinh, lambda v, fv: np.cosh(v), lambda v, fv: fv),
    "cosh": (np.cosh, lambda v, fv: np.sinh(v), lambda v, fv: fv),
    "arctan": (np.arctan, lambda v, fv: 1.0 / (1.0 + v * v), lambda v, fv: -2.0 * v / (1.0 + v * v) ** 2),
    "arcsin": (np.arcsin, lambda v, fv: 1.0 / np.sqrt(1.0 - v * v), lambda v, fv: v / (1.0 - v * v) ** 1.5),
    "arccos": (np.arccos, lambda v, fv: -1.0 / np.sqrt(1.0 - v * v), lambda v, fv: -v / (1.0 - v * v) ** 1.5),
}
for _alias, _name in (("atan", "arctan"), ("asin", "arcsin"), ("acos", "arccos")):
    FUNCTIONS[_alias] = FUNCTIONS[_name]
# 1 / v, used for division by a non-constant.
RECIPROCAL = (lambda v: 1.0 / v, lambda v, fv: -fv * fv, _recip_d2)
# Two-argument functions: name -> True for the smaller one.
CHOOSERS = {"minimum": True, "min": True, "maximum": False, "max": False}


def unary(name: str, arg: Node) -> Node:
    f, df, d2f = FUNCTIONS[name]
    return Unary(name, f, df, d2f, arg)


def pow_const(base: Node, exponent: float) -> Node:
    if exponent == 0.0:
        return Const(1.0)
    if exponent == 1.0:
        return base
    if exponent == 0.5:
        return unary("sqrt", base)
    f, df, d2f = power(exponent)
    return Unary(f"**{exponent:g}", f, df, d2f, base)


def const_pow(base: float, exponent: Node) -> Node:
    """c ** a = exp(a ln c); a non-positive base gives nan (or 0 ** a), as numpy would."""
    log_c = np.log(base) if base > 0 else np.nan
    return Unary(
        f"{base:g}**",
        lambda v: np.power(base, v),
        lambda v, fv: log_c * fv,
        lambda v, fv: log_c * log_c * fv,
        exponent,
    )


def divide(a: Node, b: Node) -> Node:
    f, df, d2f = RECIPROCAL
    return Mul(a, Unary("1/", f, df, d2f, b))


def evaluate_constant(node: Node) -> float:
    """The value of a tree without variables (for constant folding)."""
    with np.errstate(all="ignore"):
        return float(node.compile(0)(np.float64(0.0), np.float64(0.0))[0])
