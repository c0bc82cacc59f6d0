"""Teaching shapes as surfaces: bowls, a saddle, two wells, a plateau, a ravine and hills.

Each isolates one behaviour of gradient descent (zig-zag, escaping a saddle, choosing a well,
crawling on flat ground); value, gradient and Hessian are written out by hand.
"""

from __future__ import annotations

import math

import numpy as np

from gdsim.engine.problem import Minimum, ProblemError
from gdsim.engine.surface_base import Surface, cached_minima, find_minima, fmt, label_minima


class Quadratic(Surface):
    """An elliptic bowl 0.5 (u^2 + condition v^2), (u, v) being (x, y) rotated by `angle` degrees.

    The condition number of its Hessian is `condition`: the classic picture of why plain
    gradient descent zig-zags across a narrow valley.
    """

    name = "quadratic"
    title = "Ill-conditioned quadratic"
    quadratic = True
    PARAMS = {"condition": 10.0, "angle": 0.0}
    DEFAULT_VIEW = (-3.0, 3.0, -3.0, 3.0)
    DEFAULT_START = (-2.5, 1.5)

    def _setup(self) -> None:
        kappa = self.params["condition"]
        if kappa <= 0:
            raise ProblemError(f"quadratic: condition must be > 0, got {fmt(kappa)}")
        theta = math.radians(self.params["angle"])
        c, s = math.cos(theta), math.sin(theta)
        # Hessian A = R^T diag(1, kappa) R with R the rotation by theta.
        self._a = c * c + kappa * s * s
        self._b = (1.0 - kappa) * c * s
        self._d = s * s + kappa * c * c

    def _formula(self) -> str:
        kappa, angle = fmt(self.params["condition"]), self.params["angle"]
        if angle == 0.0:
            return f"0.5 (x^2 + {kappa} y^2)"
        return f"0.5 (u^2 + {kappa} v^2), where (u, v) is (x, y) rotated by {fmt(angle)} degrees"

    def _minima(self) -> list[Minimum]:
        return [Minimum((0.0, 0.0), 0.0, "global")]

    def _value(self, x, y):
        return self._value_and_gradient(x, y)[0]  # one formula, so loss and value agree to the bit

    def _gradient(self, x, y):
        if self._b == 0.0:  # unrotated (or round): skip the cross terms
            return self._a * x, self._d * y
        return self._a * x + self._b * y, self._b * x + self._d * y

    def _value_and_gradient(self, x, y):
        gx, gy = self._gradient(x, y)
        return 0.5 * (x * gx + y * gy), gx, gy  # f = p^T A p / 2 = p . grad / 2

    def _hessian(self, x, y):
        return self._a, self._b, self._d


class Bowl(Surface):
    """The round bowl x^2 + y^2: every gradient points straight at the minimum."""

    name = "bowl"
    title = "Round bowl"
    quadratic = True
    DEFAULT_START = (2.5, 2.0)

    def _formula(self) -> str:
        return "x^2 + y^2"

    def _minima(self) -> list[Minimum]:
        return [Minimum((0.0, 0.0), 0.0, "global")]

    def _value(self, x, y):
        return x * x + y * y

    def _gradient(self, x, y):
        return 2.0 * x, 2.0 * y

    def _hessian(self, x, y):
        return 2.0, 0.0, 2.0


class Saddle(Surface):
    """x^2 - y^2: a saddle at the origin, unbounded below along y."""

    name = "saddle"
    title = "Saddle"
    DEFAULT_VIEW = (-2.0, 2.0, -2.0, 2.0)
    # Almost on the ridge y = 0: gradient descent first slides to the saddle, then slowly escapes.
    DEFAULT_START = (1.8, 0.01)

    def _formula(self) -> str:
        return "x^2 - y^2"

    def _minima(self) -> list[Minimum]:
        return [Minimum((0.0, 0.0), 0.0, "saddle")]

    def _value(self, x, y):
        return x * x - y * y

    def _gradient(self, x, y):
        return 2.0 * x, -2.0 * y

    def _hessian(self, x, y):
        return 2.0, 0.0, -2.0


class EscapeSaddle(Surface):
    """x^2 + 0.25 y^4 - 0.5 y^2: a saddle between two valleys, bounded below.

    Started near the ridge y = 0, gradient descent first slides towards the saddle and
    lingers there (the gradient almost vanishes) before escaping into one of the valleys.
    """

    name = "escape_saddle"
    title = "Saddle between two valleys"
    DEFAULT_VIEW = (-2.0, 2.0, -2.0, 2.0)
    DEFAULT_START = (1.8, 0.001)

    def _formula(self) -> str:
        return "x^2 + 0.25 y^4 - 0.5 y^2"

    def _minima(self) -> list[Minimum]:
        return [
            Minimum((0.0, -1.0), -0.25, "global"),
            Minimum((0.0, 1.0), -0.25, "global"),
            Minimum((0.0, 0.0), 0.0, "saddle"),
        ]

    def _value(self, x, y):
        y2 = y * y
        return x * x + (0.25 * y2 - 0.5) * y2

    def _gradient(self, x, y):
        return 2.0 * x, (y * y - 1.0) * y

    def _hessian(self, x, y):
        return 2.0, 0.0, 3.0 * y * y - 1.0


class DoubleWell(Surface):
    """(x^2 - 1)^2 + tilt x + y^2: two wells, the tilt making the left one deeper."""

    name = "double_well"
    title = "Double well"
    PARAMS = {"tilt": 0.3}
    DEFAULT_VIEW = (-2.0, 2.0, -2.0, 2.0)
    DEFAULT_START = (1.8, 1.5)
    # Beyond this tilt the cubic 4x^3 - 4x + tilt has one real root: only one well is left.
    MAX_TILT = 8.0 / (3.0 * math.sqrt(3.0))

    def _setup(self) -> None:
        if abs(self.params["tilt"]) >= self.MAX_TILT:
            raise ProblemError(
                f"double_well: tilt must lie strictly between -{self.MAX_TILT:.4f} and {self.MAX_TILT:.4f}"
                f" (beyond that there is only one well), got {fmt(self.params['tilt'])}"
            )

    def _formula(self) -> str:
        tilt = self.params["tilt"]
        sign = "-" if tilt < 0 else "+"
        return f"(x^2 - 1)^2 {sign} {fmt(abs(tilt))} x + y^2"

    def _minima(self) -> list[Minimum]:
        tilt = self.params["tilt"]
        roots = np.sort(np.roots([4.0, 0.0, -4.0, tilt]).real)[[0, 2]]
        for _ in range(5):  # polish the companion-matrix roots to machine precision
            roots = roots - (4.0 * roots**3 - 4.0 * roots + tilt) / (12.0 * roots**2 - 4.0)
        points = np.column_stack((roots, np.zeros(2)))
        return label_minima(points, self._value(points[:, 0], points[:, 1]))

    def _value(self, x, y):
        w = x * x - 1.0
        return w * w + self.params["tilt"] * x + y * y

    def _gradient(self, x, y):
        return 4.0 * x * (x * x - 1.0) + self.params["tilt"], 2.0 * y

    def _hessian(self, x, y):
        return 12.0 * x * x - 4.0, 0.0, 2.0


class Plateau(Surface):
    """1 - exp(-(x^2 + y^2) / width^2): one basin in a wide, almost flat plain.

    Far from the basin the gradient is tiny, so plain gradient descent crawls while momentum
    builds up speed and Adam rescales the small gradient to full-size steps.
    """

    name = "plateau"
    title = "Plateau"
    PARAMS = {"width": 1.0}
    DEFAULT_VIEW = (-4.0, 4.0, -4.0, 4.0)
    DEFAULT_START = (2.5, 1.5)

    def _setup(self) -> None:
        if self.params["width"] <= 0:
            raise ProblemError(f"plateau: width must be > 0, got {fmt(self.params['width'])}")
        self._s = self.params["width"] ** 2

    def _formula(self) -> str:
        width = self.params["width"]
        return "1 - exp(-(x^2 + y^2))" if width == 1.0 else f"1 - exp(-(x^2 + y^2) / {fmt(width)}^2)"

    def _minima(self) -> list[Minimum]:
        return [Minimum((0.0, 0.0), 0.0, "global")]

    def _value(self, x, y):
        return 1.0 - np.exp(-(x * x + y * y) / self._s)

    def _gradient(self, x, y):
        return self._value_and_gradient(x, y)[1:]

    def _value_and_gradient(self, x, y):
        e = np.exp(-(x * x + y * y) / self._s)
        k = 2.0 * e / self._s
        return 1.0 - e, k * x, k * y

    def _hessian(self, x, y):
        s = self._s
        e = np.exp(-(x * x + y * y) / s)
        k = 4.0 * e / (s * s)
        return 2.0 * e / s - k * x * x, -k * x * y, 2.0 * e / s - k * y * y


class Ravine(Surface):
    """floor x^2 + wall (y - bend sin x)^2: a long, narrow, winding valley with a gentle floor.

    The steep walls limit the learning rate, the shallow floor then makes progress slow: the
    setting where momentum pays off.
    """

    name = "ravine"
    title = "Winding ravine"
    PARAMS = {"floor": 0.02, "wall": 5.0, "bend": 1.0}
    DEFAULT_VIEW = (-8.0, 8.0, -3.0, 3.0)
    DEFAULT_START = (-7.0, 1.5)

    def _setup(self) -> None:
        for key in ("floor", "wall"):
            if self.params[key] <= 0:
                raise ProblemError(f"ravine: {key} must be > 0, got {fmt(self.params[key])}")

    def _formula(self) -> str:
        p = {k: fmt(v) for k, v in self.params.items()}
        bend = "" if self.params["bend"] == 1.0 else f"{p['bend']} "
        return f"{p['floor']} x^2 + {p['wall']} (y - {bend}sin x)^2"

    def _minima(self) -> list[Minimum]:
        # Stationary needs y = bend sin x (from d/dy) and then floor x = 0: the origin only.
        return [Minimum((0.0, 0.0), 0.0, "global")]

    def _value(self, x, y):
        q = y - self.params["bend"] * np.sin(x)
        return self.params["floor"] * x * x + self.params["wall"] * q * q

    def _gradient(self, x, y):
        return self._value_and_gradient(x, y)[1:]

    def _value_and_gradient(self, x, y):
        floor, wall, bend = self.params["floor"], self.params["wall"], self.params["bend"]
        q = y - bend * np.sin(x)
        wq = wall * q
        return floor * x * x + wq * q, 2.0 * floor * x - 2.0 * wq * bend * np.cos(x), 2.0 * wq

    def _hessian(self, x, y):
        floor, wall, bend = self.params["floor"], self.params["wall"], self.params["bend"]
        sin, cos = np.sin(x), np.cos(x)
        q = y - bend * sin
        hxx = 2.0 * floor + 2.0 * wall * (bend * bend * cos * cos + q * bend * sin)
        return hxx, -2.0 * wall * bend * cos, 2.0 * wall


class Hills(Surface):
    """A shallow bowl with three Gaussian dips of different depth: one global, two local minima."""

    name = "hills"
    title = "Hills and hollows"
    DEFAULT_VIEW = (-3.0, 3.0, -3.0, 3.0)
    DEFAULT_START = (2.6, -2.6)
    BOWL = 0.05
    # (centre x, centre y, depth, width) of each dip.
    DIPS = np.array([(-1.5, 1.0, 2.0, 0.6), (1.5, 1.2, 1.4, 0.7), (0.6, -1.5, 1.0, 0.5)])

    def _setup(self) -> None:
        self._cx, self._cy, self._depth, width = (self.DIPS[:, k] for k in range(4))
        self._inv = 1.0 / (width * width)

    def _formula(self) -> str:
        terms = " - ".join(
            f"{'' if d == 1 else fmt(d) + ' '}exp(-((x{-cx:+g})^2 + (y{-cy:+g})^2) / {fmt(2 * w * w)})"
            for cx, cy, d, w in self.DIPS
        )
        return f"{fmt(self.BOWL)} (x^2 + y^2) - {terms}"

    def _minima(self) -> list[Minimum]:
        return cached_minima(self, lambda: find_minima(self, self.view))

    def _dips(self, x, y):
        dx = x[..., None] - self._cx
        dy = y[..., None] - self._cy
        e = self._depth * np.exp(-0.5 * (dx * dx + dy * dy) * self._inv)
        return dx, dy, e

    def _value(self, x, y):
        _, _, e = self._dips(np.asarray(x), np.asarray(y))
        return self.BOWL * (x * x + y * y) - e.sum(axis=-1)

    def _gradient(self, x, y):
        return self._value_and_gradient(x, y)[1:]

    def _value_and_gradient(self, x, y):
        dx, dy, e = self._dips(x, y)
        ei = e * self._inv
        value = self.BOWL * (x * x + y * y) - e.sum(axis=-1)
        gx = 2.0 * self.BOWL * x + (ei * dx).sum(axis=-1)
        return value, gx, 2.0 * self.BOWL * y + (ei * dy).sum(axis=-1)

    def _hessian(self, x, y):
        dx, dy, e = self._dips(x, y)
        ei, ei2 = e * self._inv, e * self._inv * self._inv
        hxx = 2.0 * self.BOWL + (ei - ei2 * dx * dx).sum(axis=-1)
        hyy = 2.0 * self.BOWL + (ei - ei2 * dy * dy).sum(axis=-1)
        return hxx, -(ei2 * dx * dy).sum(axis=-1), hyy
