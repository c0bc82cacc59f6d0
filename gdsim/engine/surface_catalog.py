"""The classic optimisation test functions as surfaces: exact value, gradient, Hessian, known minima.

Formulas are written out by hand (no numerical differentiation) so a step costs a few array
operations; tests check every derivative against central finite differences.
"""

from __future__ import annotations

import math

import numpy as np

from gdsim.engine.problem import Minimum, ProblemError
from gdsim.engine.surface_base import Surface, cached_minima, fmt, label_minima

class Rosenbrock(Surface):
    """The banana valley (a - x)^2 + b (y - x^2)^2; b = 20 is Distill's gentler banana."""

    name = "rosenbrock"
    title = "Rosenbrock"
    PARAMS = {"a": 1.0, "b": 100.0}
    DEFAULT_VIEW = (-2.0, 2.0, -1.0, 3.0)
    DEFAULT_START = (-1.2, 1.0)

    def _setup(self) -> None:
        if self.params["b"] <= 0:
            raise ProblemError(f"rosenbrock: b must be > 0, got {fmt(self.params['b'])}")

    def _formula(self) -> str:
        a, b = self.params["a"], fmt(self.params["b"])
        return f"({fmt(a)} - x)^2 + {b} (y - x^2)^2"

    def _minima(self) -> list[Minimum]:
        a = self.params["a"]
        return [Minimum((a, a * a), 0.0, "global")]

    def _value(self, x, y):
        a, b = self.params["a"], self.params["b"]
        u = a - x
        w = y - x * x
        return u * u + (b * w) * w  # the same rounding as _value_and_gradient

    def _gradient(self, x, y):
        return self._value_and_gradient(x, y)[1:]

    def _value_and_gradient(self, x, y):
        a, b = self.params["a"], self.params["b"]
        u = a - x
        w = y - x * x
        bw = b * w
        return u * u + bw * w, -2.0 * u - 4.0 * x * bw, 2.0 * bw

    def _hessian(self, x, y):
        b = self.params["b"]
        return 2.0 - 4.0 * b * y + 12.0 * b * x * x, -4.0 * b * x, 2.0 * b


class Himmelblau(Surface):
    """(x^2 + y - 11)^2 + (x + y^2 - 7)^2: four equally deep minima, so the start decides."""

    name = "himmelblau"
    title = "Himmelblau"
    DEFAULT_VIEW = (-5.0, 5.0, -5.0, 5.0)
    DEFAULT_START = (0.0, 0.0)
    # Found by Newton's method to machine precision (value 0 at each, to within 1e-30).
    MINIMA = (
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.283185991286169),
        (3.5844283403304917, -1.8481265269644034),
    )

    def _formula(self) -> str:
        return "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"

    def _minima(self) -> list[Minimum]:
        return [Minimum(p, 0.0, "global") for p in self.MINIMA]

    def _value(self, x, y):
        return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2

    def _gradient(self, x, y):
        return self._value_and_gradient(x, y)[1:]

    def _value_and_gradient(self, x, y):
        a = x * x + y - 11.0
        b = x + y * y - 7.0
        return a * a + b * b, 4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b

    def _hessian(self, x, y):
        return 12.0 * x * x + 4.0 * y - 42.0, 4.0 * (x + y), 4.0 * x + 12.0 * y * y - 26.0


class Beale(Surface):
    """(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2: steep walls, flat floor."""

    name = "beale"
    title = "Beale"
    DEFAULT_VIEW = (-4.5, 4.5, -4.5, 4.5)
    DEFAULT_START = (1.0, 1.5)

    def _formula(self) -> str:
        return "(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2"

    def _minima(self) -> list[Minimum]:
        return [Minimum((3.0, 0.5), 0.0, "global")]

    def _terms(self, x, y):
        y2 = y * y
        y3 = y2 * y
        return 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3, y2, y3

    def _value(self, x, y):
        t1, t2, t3, _, _ = self._terms(x, y)
        return t1 * t1 + t2 * t2 + t3 * t3

    def _gradient(self, x, y):
        return self._value_and_gradient(x, y)[1:]

    def _value_and_gradient(self, x, y):
        t1, t2, t3, y2, y3 = self._terms(x, y)
        gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
        gy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
        return t1 * t1 + t2 * t2 + t3 * t3, gx, gy

    def _hessian(self, x, y):
        t1, t2, t3, y2, y3 = self._terms(x, y)
        # Hessian of sum t_i^2 is 2 sum (grad t_i grad t_i^T + t_i hess t_i).
        a1, a2, a3 = y - 1.0, y2 - 1.0, y3 - 1.0  # d t_i / dx
        b1, b2, b3 = x, 2.0 * x * y, 3.0 * x * y2  # d t_i / dy
        hxx = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3)
        hxy = 2.0 * (a1 * b1 + a2 * b2 + a3 * b3 + t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
        hyy = 2.0 * (b1 * b1 + b2 * b2 + b3 * b3 + 2.0 * x * t2 + 6.0 * x * y * t3)
        return hxx, hxy, hyy


def _minima_1d(f, df, d2f, lo: float, hi: float, n: int = 4001) -> np.ndarray:
    """Local minima of a 1-D function on [lo, hi]: fine-grid candidates polished by Newton."""
    t = np.linspace(lo, hi, n)
    v = f(t)
    cand = t[1:-1][(v[1:-1] <= v[:-2]) & (v[1:-1] <= v[2:])]
    for _ in range(50):
        cand = cand - df(cand) / d2f(cand)
    cand = np.sort(cand[(cand >= lo) & (cand <= hi) & (d2f(cand) > 0)])
    # Several grid candidates polish to the same minimum: keep one of each.
    return cand[np.concatenate(([True], np.diff(cand) > 1e-9))]


class Rastrigin(Surface):
    """20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y): a bowl covered in local minima."""

    name = "rastrigin"
    title = "Rastrigin"
    PARAMS = {"amplitude": 10.0}
    DEFAULT_VIEW = (-5.12, 5.12, -5.12, 5.12)
    DEFAULT_START = (3.2, -2.6)

    def _setup(self) -> None:
        if self.params["amplitude"] < 0:
            raise ProblemError(f"rastrigin: amplitude must be >= 0, got {fmt(self.params['amplitude'])}")

    def _formula(self) -> str:
        a = fmt(self.params["amplitude"])
        return f"{fmt(2 * self.params['amplitude'])} + x^2 - {a} cos(2 pi x) + y^2 - {a} cos(2 pi y)"

    def _minima(self) -> list[Minimum]:
        return cached_minima(self, self._compute_minima)

    def _compute_minima(self) -> list[Minimum]:
        # Separable: a 2-D local minimum is a pair of 1-D local minima of g(t) = t^2 - A cos(2 pi t) + A.
        amp, tau = self.params["amplitude"], 2.0 * math.pi
        g = lambda t: t * t - amp * np.cos(tau * t) + amp  # noqa: E731
        dg = lambda t: 2.0 * t + amp * tau * np.sin(tau * t)  # noqa: E731
        d2g = lambda t: 2.0 + amp * tau * tau * np.cos(tau * t)  # noqa: E731
        xmin, xmax, ymin, ymax = self.view
        xs, ys = _minima_1d(g, dg, d2g, xmin, xmax), _minima_1d(g, dg, d2g, ymin, ymax)
        px, py = np.meshgrid(xs, ys)
        points = np.column_stack((px.ravel(), py.ravel()))
        return label_minima(points, g(points[:, 0]) + g(points[:, 1]))

    def _value(self, x, y):
        amp, tau = self.params["amplitude"], 2.0 * math.pi
        return 2.0 * amp + x * x - amp * np.cos(tau * x) + y * y - amp * np.cos(tau * y)

    def _gradient(self, x, y):
        amp, tau = self.params["amplitude"], 2.0 * math.pi
        return 2.0 * x + amp * tau * np.sin(tau * x), 2.0 * y + amp * tau * np.sin(tau * y)

    def _hessian(self, x, y):
        amp, tau = self.params["amplitude"], 2.0 * math.pi
        return 2.0 + amp * tau * tau * np.cos(tau * x), 0.0, 2.0 + amp * tau * tau * np.cos(tau * y)
