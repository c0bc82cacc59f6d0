"""The Surface base class: a 2-D function as a gdsim Problem, plus a numerical minimum finder.

A concrete surface supplies `_value`, `_gradient` and `_hessian` on coordinate arrays x and y
(any matching shape); this class turns them into the (R, 2) row interface, adds seeded gradient
noise, start points, contour grids and "which minimum did this run reach".
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from gdsim.engine.problem import STREAM_NOISE, STREAM_START, ChunkedNormal, Minimum, ProblemError, run_rng

View = tuple[float, float, float, float]


class NoNoise:
    """The sampler of a noiseless surface: every step's batch is None."""

    def next(self) -> None:
        return None


def check_view(view: Any, where: str = "view") -> View:
    """A validated (xmin, xmax, ymin, ymax) box of finite floats with xmin < xmax and ymin < ymax."""
    try:
        if isinstance(view, (str, bytes)):
            raise TypeError
        box = tuple(float(v) for v in view)
    except (TypeError, ValueError):
        raise ProblemError(f"{where} must be four numbers (xmin, xmax, ymin, ymax), got {view!r}") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ProblemError(f"{where} must be four finite numbers (xmin, xmax, ymin, ymax), got {view!r}")
    if not (box[0] < box[1] and box[2] < box[3]):
        raise ProblemError(f"{where} needs xmin < xmax and ymin < ymax, got {box}")
    return box  # type: ignore[return-value]


def check_number(name: str, value: Any, surface: str) -> float:
    """A finite float, or a ProblemError naming the surface and the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ProblemError(f"{surface}: parameter {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ProblemError(f"{surface}: parameter {name} must be finite, got {value}")
    return value


class Surface:
    """A 2-D loss surface f(x, y): analytic value, gradient and Hessian on (R, 2) rows."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    n_params: ClassVar[int] = 2
    # Parameter names and defaults; make_surface rejects any other keyword.
    PARAMS: ClassVar[dict[str, float]] = {}
    DEFAULT_VIEW: ClassVar[View] = (-3.0, 3.0, -3.0, 3.0)
    DEFAULT_START: ClassVar[tuple[float, float]] = (2.0, 2.0)
    # A positive-definite quadratic (constant Hessian): cg's exact line search applies to it.
    quadratic: ClassVar[bool] = False

    formula: str
    view: View
    minima: tuple[Minimum, ...]
    noise: float
    default_start: tuple[float, float]
    params: dict[str, float]

    def __init__(self, *, noise: float = 0.0, view: Any = None, **params: Any):
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            valid = ", ".join(self.PARAMS) or "none"
            raise ProblemError(
                f"surface {self.name!r} has no parameter {unknown[0]!r}; valid parameters: {valid}"
            )
        self.params = {k: check_number(k, params.get(k, d), self.name) for k, d in self.PARAMS.items()}
        self.noise = check_number("noise", noise, self.name)
        if self.noise < 0:
            raise ProblemError(
                f"{self.name}: noise is a standard deviation and must be >= 0, got {self.noise}"
            )
        self.view = check_view(self.DEFAULT_VIEW if view is None else view, f"{self.name}: view")
        self._setup()
        self.formula = self._formula()
        with np.errstate(all="ignore"):  # a numerical search may overflow on the way; never raise
            self.minima = tuple(self._minima())
        self.default_start = self._clip_to_view(self.DEFAULT_START)
        self._minimum_points = np.array([m.point for m in self.minima], dtype=np.float64).reshape(-1, 2)

    # --- what a concrete surface provides ---------------------------------------------------
    def _setup(self) -> None:
        """Check parameters and precompute constants (self.params is filled in)."""

    def _formula(self) -> str:
        raise NotImplementedError

    def _minima(self) -> list[Minimum]:
        raise NotImplementedError

    def _value(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _gradient(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        raise NotImplementedError

    def _value_and_gradient(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
        gx, gy = self._gradient(x, y)
        return self._value(x, y), gx, gy

    def _hessian(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
        """(f_xx, f_xy, f_yy); scalars broadcast."""
        raise NotImplementedError

    # --- the public row interface --------------------------------------------------------------
    # value, gradient, hessian and grid run under errstate(all="ignore"): a diverging run
    # overflows to inf/nan, which the simulation detects and freezes; warnings would only clutter
    # the screen. loss_and_grad is the hot path and leaves that to its caller (the simulation
    # holds errstate around its whole step loop), saving a context switch per step.
    def value(self, xy: Any) -> np.ndarray:
        xy = _points(xy)
        with np.errstate(all="ignore"):
            return _full(self._value(xy[..., 0], xy[..., 1]), xy.shape[:-1])

    def gradient(self, xy: Any) -> np.ndarray:
        xy = _points(xy)
        out = np.empty(xy.shape)
        with np.errstate(all="ignore"):
            out[..., 0], out[..., 1] = self._gradient(xy[..., 0], xy[..., 1])
        return out

    def hessian(self, xy: Any) -> np.ndarray:
        xy = _points(xy)
        out = np.empty((*xy.shape, 2))
        with np.errstate(all="ignore"):
            hxx, hxy, hyy = self._hessian(xy[..., 0], xy[..., 1])
        out[..., 0, 0] = hxx
        out[..., 0, 1] = hxy
        out[..., 1, 0] = hxy
        out[..., 1, 1] = hyy
        return out

    def init_params(self, seeds: Any) -> np.ndarray:
        """(R, 2) starts uniform in the view box; row r drawn only from seeds[r]."""
        xmin, xmax, ymin, ymax = self.view
        seeds = np.asarray(seeds).ravel()
        out = np.empty((len(seeds), 2))
        for r, seed in enumerate(seeds):
            out[r] = run_rng(int(seed), STREAM_START).uniform((xmin, ymin), (xmax, ymax))
        return out

    def sampler(self, seeds: Any) -> NoNoise | ChunkedNormal:
        """Standard-normal gradient noise per run (None batches when the surface is noiseless)."""
        if self.noise == 0.0:
            return NoNoise()
        return ChunkedNormal(np.asarray(seeds), (2,), STREAM_NOISE)

    def loss_and_grad(self, params: np.ndarray, batch: Any) -> tuple[np.ndarray, np.ndarray]:
        """Exact value, and the gradient plus noise * batch (the batch holds standard normals).

        Callers stepping many times hold np.errstate(all="ignore") so diverging runs stay quiet.
        """
        params = np.asarray(params, dtype=np.float64)
        grad = np.empty(params.shape)
        value, grad[..., 0], grad[..., 1] = self._value_and_gradient(params[..., 0], params[..., 1])
        if batch is not None and self.noise != 0.0:
            grad += self.noise * batch
        return _full(value, params.shape[:-1]), grad

    def grid(self, nx: int, ny: int, view: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """xs (nx,), ys (ny,) and Z (ny, nx) with Z[j, i] = f(xs[i], ys[j]), for contour maps."""
        xmin, xmax, ymin, ymax = self.view if view is None else check_view(view)
        xs = np.linspace(xmin, xmax, int(nx))
        ys = np.linspace(ymin, ymax, int(ny))
        with np.errstate(all="ignore"):
            z = self._value(xs[None, :], ys[:, None])
        return xs, ys, _full(z, (len(ys), len(xs)))

    def nearest_minimum(self, xy: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per row: index into self.minima of the closest one, and its distance.

        The index is -1 (and the distance inf) where there are no minima or the row is not finite.
        """
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if len(self._minimum_points) == 0:
            return np.full(len(xy), -1, dtype=np.int64), np.full(len(xy), np.inf)
        with np.errstate(all="ignore"):  # a diverged run's inf/nan position is just "far"
            dist = np.hypot(*(xy[:, None, :] - self._minimum_points[None, :, :]).transpose(2, 0, 1))
        dist = np.where(np.isnan(dist), np.inf, dist)
        index = np.argmin(dist, axis=1)
        nearest = dist[np.arange(len(xy)), index]
        return np.where(np.isfinite(nearest), index, -1).astype(np.int64), nearest

    def _clip_to_view(self, point: tuple[float, float]) -> tuple[float, float]:
        xmin, xmax, ymin, ymax = self.view
        return (min(max(point[0], xmin), xmax), min(max(point[1], ymin), ymax))

    def __repr__(self) -> str:
        extras = "".join(f", {k}={v:g}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.formula!r}{extras}, noise={self.noise:g})"


def _points(xy: Any) -> np.ndarray:
    """xy as float64 with a last axis of (x, y)."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim == 0 or xy.shape[-1] != 2:
        raise ValueError(f"a surface takes points as (..., 2) arrays of (x, y), got shape {xy.shape}")
    return xy


def _full(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    """values as a writable float64 array of `shape` (a constant surface returns a scalar)."""
    values = np.asarray(values, dtype=np.float64)
    return values if values.shape == shape else np.full(shape, values)


# Minima found numerically depend on the parameters and view only, so each is computed once.
_MINIMA_CACHE: dict[tuple[Any, ...], list[Minimum]] = {}


def cached_minima(surface: Surface, compute: Any) -> list[Minimum]:
    """compute() once per (surface class, parameters, view)."""
    key = (type(surface).__name__, tuple(surface.params.items()), surface.view)
    if key not in _MINIMA_CACHE:
        if len(_MINIMA_CACHE) >= 256:  # views chosen interactively must not grow it without end
            _MINIMA_CACHE.clear()
        _MINIMA_CACHE[key] = compute()
    return _MINIMA_CACHE[key]


def fmt(value: float) -> str:
    """A parameter as learners would write it: 100, 0.3, 1e-05."""
    return f"{value:g}"


def label_minima(points: np.ndarray, values: np.ndarray, rtol: float = 1e-9) -> list[Minimum]:
    """Minima sorted by value; every one tied (to rtol) with the lowest is "global", the rest "local"."""
    order = np.argsort(values, kind="stable")
    if len(order) == 0:
        return []
    lowest = float(values[order[0]])
    tol = rtol * max(1.0, abs(lowest)) + 1e-12
    return [
        Minimum(
            (float(points[i, 0]), float(points[i, 1])),
            float(values[i]),
            "global" if values[i] <= lowest + tol else "local",
        )
        for i in order
    ]


def _refine(
    surface: Surface, p: np.ndarray, scale: float, iterations: int = 80
) -> tuple[np.ndarray, np.ndarray]:
    """Damped Newton from each row of p, taking only steps that lower f; returns (points, values).

    Steps solve (H + lam I) s = -g with lam making the matrix positive definite, so saddles
    and maxima are not approached; each step is capped and halved until it lowers f.
    """
    f = surface.value(p)
    t = np.ones(len(p))
    eye = np.eye(2)
    for _ in range(iterations):
        g = surface.gradient(p)
        h = surface.hessian(p)
        finite = np.isfinite(g).all(axis=1) & np.isfinite(h).all(axis=(1, 2))
        g = np.where(finite[:, None], g, 0.0)  # no derivative here: leave the point where it is
        h = np.where(finite[:, None, None], h, eye)
        eig = np.linalg.eigvalsh(h)
        floor = 1e-9 * (1.0 + np.abs(eig[:, 1]))
        lam = np.where(eig[:, 0] > floor, 0.0, floor - eig[:, 0] + 1e-3 * np.abs(eig[:, 0]))
        step = np.linalg.solve(h + lam[:, None, None] * eye, -g[:, :, None])[:, :, 0]
        length = np.hypot(step[:, 0], step[:, 1])
        step *= (t * np.minimum(1.0, 0.05 * scale / np.maximum(length, 1e-300)))[:, None]
        trial = p + step
        f_trial = surface.value(trial)
        better = f_trial <= f  # False for nan
        p = np.where(better[:, None], trial, p)
        f = np.where(better, f_trial, f)
        t = np.where(better, np.minimum(1.0, 2.0 * t), 0.5 * t)
        if np.all(np.hypot(step[:, 0], step[:, 1]) < 1e-13 * scale):
            break
    return p, f


def find_minima(surface: Surface, view: View, n: int = 121, max_count: int = 64) -> list[Minimum]:
    """Local minima inside `view`: grid candidates refined by damped Newton, deduplicated, labelled.

    Candidates are interior grid points no higher than their 8 neighbours (and lower than one).
    A refined candidate is kept when its gradient vanishes and its Hessian is positive
    semi-definite, or, where derivatives do not exist, when no nearby point is lower.
    """
    xmin, xmax, ymin, ymax = view
    xs, ys, z = surface.grid(n, n, view)
    z = np.where(np.isfinite(z), z, np.inf)
    core = z[1:-1, 1:-1]
    is_min = np.isfinite(core)
    lower_than_some = np.zeros_like(is_min)  # so a flat region (a constant function) yields none
    for dj in (-1, 0, 1):
        for di in (-1, 0, 1):
            if dj or di:
                neighbour = z[1 + dj : n - 1 + dj, 1 + di : n - 1 + di]
                is_min &= core <= neighbour
                lower_than_some |= core < neighbour
    is_min &= lower_than_some
    jj, ii = np.nonzero(is_min)
    if len(jj) == 0:
        return []
    if len(jj) > 4 * max_count:  # a flat valley floor: keep the lowest candidates only
        keep = np.argsort(core[jj, ii], kind="stable")[: 4 * max_count]
        jj, ii = jj[keep], ii[keep]
    p = np.column_stack((xs[ii + 1], ys[jj + 1]))
    scale = max(xmax - xmin, ymax - ymin)
    p, f = _refine(surface, p, scale)
    g = surface.gradient(p)
    h = surface.hessian(p)
    smooth = np.isfinite(g).all(axis=1) & np.isfinite(h).all(axis=(1, 2))
    eig = np.linalg.eigvalsh(np.where(smooth[:, None, None], h, 0.0))
    stationary = (
        smooth
        & (np.hypot(g[:, 0], g[:, 1]) < 1e-6 * (1.0 + np.abs(f)))
        & (eig[:, 0] >= -1e-6 * (1.0 + np.abs(eig[:, 1])))
    )
    # Where the derivatives do not exist (the tip of a cone, sqrt at 0) compare with neighbours.
    angles = np.linspace(0.0, 2.0 * np.pi, 8, endpoint=False)
    ring = 1e-5 * scale * np.column_stack((np.cos(angles), np.sin(angles)))
    around = surface.value(p[:, None, :] + ring[None, :, :])
    kink = ~smooth & np.all(f[:, None] <= np.where(np.isnan(around), np.inf, around), axis=1)
    ok = (
        np.all(np.isfinite(p), axis=1)
        & np.isfinite(f)
        & (stationary | kink)
        & (p[:, 0] >= xmin) & (p[:, 0] <= xmax) & (p[:, 1] >= ymin) & (p[:, 1] <= ymax)
    )
    p, f = p[ok], f[ok]
    # Deduplicate: candidates that converged to the same point (within a grid-cell fraction).
    tol = 1e-3 * (xs[1] - xs[0] + ys[1] - ys[0])
    order = np.argsort(f, kind="stable")
    kept: list[int] = []
    for i in order:
        if all(np.hypot(*(p[i] - p[k])) > tol for k in kept):
            kept.append(int(i))
        if len(kept) >= max_count:
            break
    return label_minima(p[kept], f[kept])
