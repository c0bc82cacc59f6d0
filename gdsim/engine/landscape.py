"""Loss landscapes of any problem: the loss along a line, or over a plane, through parameter space.

Three standard pictures, each computed as one vectorized batch: every grid point is a row of a
(M, P) parameter matrix, evaluated on the whole split at once through the problem's own batched
forward pass (blocks of rows keep memory bounded; a 41x41 plane is 1,681 rows).

- line: θ(t) = (1 − t)·a + t·b (Goodfellow, Vinyals & Saxe 2015, "Qualitatively characterizing
  neural network optimization problems"), a = the start and b = the current parameters, or the
  end points of two runs; t runs a little past both ends, and t = 0 and t = 1 are grid points
  that are exactly a and b (the convex form gives both ends bit for bit; a + t·(b − a) does not).
- pca: the plane through the path's last point spanned by the top two principal directions of
  the path (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the Loss Landscape of Neural
  Nets", §7: PCA of θ_i − θ_n, centred as their sklearn PCA does), the path projected on it, and
  the share of the path's variance the plane holds. A projection, not the real path.
- random: the plane through a point along two seeded Gaussian directions with filter-wise
  normalization (Li et al. 2018, §4, and their net_plotter.py): for a fully connected layer a
  "filter" is one unit's incoming weights, and each is scaled to the norm of the same unit's
  weights; biases and batch norm's γ get no direction (their `--xignore biasbn`), except in a
  model without hidden layers, where the bias is part of its unit's filter. A surface has no
  filters: its directions are unit vectors.

Values: on "train", the objective the optimizer minimizes (data loss plus the l1/l2 penalty, as
the recorded step loss of a full-batch run); on "val", the data loss alone (as `evaluate`). A
network is evaluated as at test time: no dropout, batch norm with running statistics (fixed at
the plane's centre; along a line interpolated between the two ends and held beyond them).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdsim.engine.models import NormStats

KINDS = ("line", "pca", "random")
SPLITS = ("train", "val")
DEFAULT_SPAN = {"line": 0.5, "pca": 0.25, "random": 1.0}
BLOCK_ENTRIES = 4_000_000  # float64 entries of one block's largest activation array (32 MB)
FILTER_EPS = 1e-10  # Li et al.'s guard against a zero direction


class LandscapeError(ValueError):
    """A landscape that cannot be drawn from these inputs (the message says why)."""


class Landscape(NamedTuple):
    """A computed landscape. Line: axes (t,), loss (n,). Plane: axes (a, b), loss (n, n) with
    loss[j, i] at a[i], b[j]. `path` holds the given path's coordinates ((K, 1) along the line,
    (K, 2) on a plane), `variance` the share of the path's variance the line or plane holds, and
    `origin` the grid index that is exactly the centre (planes) or t = 0 (lines); t = 1 is `end`."""

    kind: str
    split: str
    axes: tuple[np.ndarray, ...]
    loss: np.ndarray
    path: np.ndarray
    path_steps: np.ndarray
    variance: float | None
    origin: tuple[int, ...]
    end: tuple[int, ...] | None = None
    center: np.ndarray | None = None  # the grid's coordinates are center + Σ coordinate_k · directions[k]
    directions: np.ndarray | None = None  # (1, P) for a line (b − a, from center a), (2, P) for a plane


def project(landscape: Landscape, points: np.ndarray) -> np.ndarray:
    """The coordinates (K, 1) or (K, 2) of the nearest points of the line or plane to `points`
    (K, P) (least squares; for the orthonormal PCA directions simply the dot products)."""
    d = landscape.directions
    diffs = np.asarray(points, dtype=np.float64).reshape(-1, d.shape[1]) - landscape.center
    return (np.linalg.pinv(d @ d.T) @ (d @ diffs.T)).T  # pinv: a zero direction gives 0, not an error


# -- evaluating many parameter vectors at once ---------------------------------------------------
def _data(problem, split: str):
    """(x with a ones column (n, d + 1), encoded targets) of a split of a data-set problem."""
    if split not in SPLITS:
        raise LandscapeError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    x, y = problem.split_points(split)
    if len(y) == 0:
        raise LandscapeError(f"this scenario has no {split} split (its split gives it no samples)")
    targets = problem.loss.encode_targets(y, problem.n_outputs)
    return np.concatenate([x, np.ones((len(x), 1))], axis=1), x, targets


def block_rows(problem, n_samples: int) -> int:
    """Grid rows evaluated per block, so no activation array exceeds BLOCK_ENTRIES entries."""
    width = max(problem.network.layout.sizes) if hasattr(problem, "network") else 1
    return max(1, BLOCK_ENTRIES // max(1, n_samples * width, problem.n_params))


def evaluate_points(problem, points: np.ndarray, split: str = "train",
                    stats: NormStats | None = None) -> np.ndarray:
    """The full-split loss (M,) of every row of `points` (M, P) (see the module docstring).

    `stats`: batch norm's running statistics, one row for all points or one per point. The
    forward pass is the one a full-batch training step takes (shared inputs with a ones column),
    so a recorded full-batch step loss is reproduced bit for bit.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != problem.n_params:
        raise LandscapeError(f"points must be (M, {problem.n_params}), got {points.shape}")
    with np.errstate(all="ignore"):
        if not hasattr(problem, "network"):  # a surface or expression: its exact value
            return problem.loss_and_grad(points, None)[0]
        return _network_loss(problem, points, split, stats)


def _network_loss(problem, points: np.ndarray, split: str, stats: NormStats | None) -> np.ndarray:
    x_ones, x, targets = _data(problem, split)
    network = problem.network
    if network.batch_norm and stats is None:
        raise LandscapeError("a network with batch norm is evaluated with its running statistics: pass stats")
    block = block_rows(problem, len(x))
    out = np.empty(len(points))
    for a in range(0, len(points), block):
        rows = points[a : a + block]
        if network.batch_norm:
            # as DatasetProblem.evaluate computes it (the plain inputs, eval mode)
            part = NormStats(*(_rows_of(s, a, len(rows), len(points)) for s in stats))
            scores = network.forward(rows, x, stats=part)[0]
        else:
            scores = network.forward(rows, x_ones, ones=True)[0]
        loss = problem.loss.value(scores, targets)
        if split == "train" and (problem.l1 or problem.l2):
            loss = loss + network.penalty(rows, problem.l1, problem.l2)
        out[a : a + len(rows)] = loss
    return out


def _rows_of(array: np.ndarray, start: int, count: int, total: int) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1 or array.shape[0] == 1:
        return np.broadcast_to(array.reshape(1, -1), (count, array.shape[-1]))
    if array.shape[0] != total:
        raise LandscapeError(f"stats must have 1 or {total} rows, got {array.shape[0]}")
    return array[start : start + count]


def _plane_loss(problem, center, d1, d2, a, b, split, stats) -> np.ndarray:
    """loss[j, i] at center + a[i]·d1 + b[j]·d2, built and evaluated a block of rows at a time."""
    aa, bb = np.meshgrid(a, b)
    aa, bb = aa.ravel(), bb.ravel()
    n_samples = len(problem.split_points(split)[1]) if hasattr(problem, "network") else 1
    block = block_rows(problem, n_samples)
    out = np.empty(len(aa))
    for s in range(0, len(aa), block):
        rows = center + aa[s : s + block, None] * d1 + bb[s : s + block, None] * d2
        out[s : s + len(rows)] = evaluate_points(problem, rows, split, stats)
    return out.reshape(len(b), len(a))


# -- grids -----------------------------------------------------------------------------------------
def line_axis(n: int, span: float) -> tuple[np.ndarray, int, int]:
    """t values (n,) from about −span to 1 + span with t = 0 and t = 1 exactly at two grid indices,
    and those two indices. m intervals lie between 0 and 1, e more beyond each end."""
    if n < 3:
        raise LandscapeError(f"a line needs at least 3 grid points, got {n}")
    m = max(1, int(round((n - 1) / (1 + 2 * span))))
    if (n - 1 - m) % 2:
        m += 1 if m + 1 <= n - 1 else -1
    e = (n - 1 - m) // 2
    t = (np.arange(n) - e) / m
    return t, e, e + m


def centred_axis(low: float, high: float, n: int) -> tuple[np.ndarray, int]:
    """n coordinates covering about [low, high] (low <= 0 <= high) with 0 exactly at one index."""
    step = (high - low) / (n - 1)
    if not np.isfinite(step) or step <= 0:
        raise LandscapeError("the plane has no extent (the path has not moved)")
    zero = int(min(n - 1, max(0, round(-low / step))))
    return (np.arange(n) - zero) * step, zero


# -- the three kinds ---------------------------------------------------------------------------
def line(problem, a: np.ndarray, b: np.ndarray, *, n: int = 41, span: float = DEFAULT_SPAN["line"],
         split: str = "train", stats_a: NormStats | None = None, stats_b: NormStats | None = None,
         path: np.ndarray | None = None, path_steps: np.ndarray | None = None) -> Landscape:
    """The loss along θ(t) = (1 − t)·a + t·b; `path` (K, P) is projected onto the line (its t)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if np.array_equal(a, b):
        raise LandscapeError("the two ends are the same point (the run has not moved yet: take a step first)")
    t, i0, i1 = line_axis(n, span)
    points = (1.0 - t)[:, None] * a + t[:, None] * b
    stats = None
    if stats_a is not None:
        held = np.clip(t, 0.0, 1.0)[:, None]  # beyond the ends the statistics stay those of the end
        stats_b = stats_a if stats_b is None else stats_b
        stats = NormStats(*((1.0 - held) * np.ravel(sa) + held * np.ravel(sb) for sa, sb in zip(stats_a, stats_b)))
    loss = evaluate_points(problem, points, split, stats)
    coords, steps, share = np.zeros((0, 1)), np.zeros(0, dtype=np.int64), None
    if path is not None and len(path):
        d = b - a
        dd = float(d @ d)
        if dd > 0:
            diffs = np.asarray(path, dtype=np.float64) - a
            coords = (diffs @ d / dd)[:, None]
            share = _variance_share(diffs, d[None, :] / np.sqrt(dd))
            steps = _steps(path_steps, len(path))
    return Landscape("line", split, (t,), loss, coords, steps, share, (i0,), (i1,), a, (b - a)[None, :])


def pca_directions(path: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The top two principal directions (2, P) of the path's points (centred), oriented so that the
    path runs towards +a and +b; their coordinates of the path relative to its last point (K, 2);
    and the share of the path's variance they hold."""
    path = np.asarray(path, dtype=np.float64)
    if path.ndim != 2 or len(path) < 2:
        raise LandscapeError("a plane through the path needs at least two recorded points")
    diffs = path - path[-1]
    centred = diffs - diffs.mean(axis=0)
    # The principal directions from the small (K, K) Gram matrix rather than an SVD of the
    # (K, P) path: K is at most a few hundred records while P may be thousands of parameters.
    gram = centred @ centred.T
    values, vectors = np.linalg.eigh(gram)
    values, vectors = np.maximum(values[::-1], 0.0), vectors[:, ::-1]
    total = float(np.trace(gram))
    if total <= 0.0 or not np.isfinite(total):
        raise LandscapeError("the path has not moved (every recorded point is the same)")
    d1 = centred.T @ vectors[:, 0]
    d1 /= np.linalg.norm(d1)
    second = centred.T @ vectors[:, 1] if len(values) > 1 and values[1] > 1e-12 * values[0] else None
    if second is not None:
        d2 = second - (second @ d1) * d1
        d2 /= np.linalg.norm(d2)
    else:  # a straight path: any direction at right angles completes the plane
        e = np.zeros_like(d1)
        e[int(np.argmin(np.abs(d1)))] = 1.0
        d2 = e - (e @ d1) * d1
        d2 /= np.linalg.norm(d2)
    directions = np.stack([d1, d2])
    coords = diffs @ directions.T
    flip = np.where(coords[0] > 0, -1.0, 1.0)  # the start on the negative side: the path runs to +
    directions *= flip[:, None]
    coords *= flip
    centred_coords = centred @ directions.T
    return directions, coords, float(np.sum(centred_coords * centred_coords)) / total


def pca_plane(problem, path: np.ndarray, *, n: int = 41, span: float = DEFAULT_SPAN["pca"],
              split: str = "train", stats: NormStats | None = None,
              path_steps: np.ndarray | None = None) -> Landscape:
    """The plane through path[-1] spanned by the path's top two principal directions; the grid
    covers the projected path and the centre, padded by `span` of its extent on every side."""
    directions, coords, share = pca_directions(path)
    axes, zeros = [], []
    for k in range(2):
        low, high = min(0.0, float(coords[:, k].min())), max(0.0, float(coords[:, k].max()))
        width = high - low or (float(np.ptp(coords[:, 0])) or 1.0)
        axis, zero = centred_axis(low - span * width, high + span * width, n)
        axes.append(axis)
        zeros.append(zero)
    center = np.asarray(path[-1], dtype=np.float64)
    loss = _plane_loss(problem, center, directions[0], directions[1], axes[0], axes[1], split, stats)
    return Landscape("pca", split, tuple(axes), loss, coords, _steps(path_steps, len(coords)), share,
                     (zeros[1], zeros[0]), None, center, directions)


def filter_normalized(problem, center: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random direction (P,) scaled filter-wise to `center` (see the module docstring)."""
    center = np.asarray(center, dtype=np.float64)
    d = rng.standard_normal(center.shape)
    if not hasattr(problem, "network"):
        return d / np.linalg.norm(d)
    layout = problem.network.layout
    out = np.zeros_like(d)  # biases and batch norm's γ stay 0
    # Without hidden layers (linear, logistic, softmax regression) the bias joins its unit's
    # filter: with the bias left out, a one-input line's two directions would be parallel.
    with_bias = problem.network.n_hidden == 0
    for s in layout.layers:
        end, rows = (s.end, s.fan_in + 1) if with_bias else (s.bias, s.fan_in)
        w = center[s.start : end].reshape(rows, s.fan_out)  # column j: unit j's incoming weights
        dw = d[s.start : end].reshape(rows, s.fan_out)
        scale = np.linalg.norm(w, axis=0) / (np.linalg.norm(dw, axis=0) + FILTER_EPS)
        out[s.start : end] = (dw * scale).ravel()
    return out


def random_directions(problem, center: np.ndarray, seed: int) -> np.ndarray:
    """Two filter-normalized directions (2, P), the same for the same seed and centre."""
    rng = np.random.default_rng([int(seed), 16])
    return np.stack([filter_normalized(problem, center, rng) for _ in range(2)])


def random_plane(problem, center: np.ndarray, *, n: int = 41, span: float = DEFAULT_SPAN["random"],
                 seed: int = 0, split: str = "train", stats: NormStats | None = None,
                 path: np.ndarray | None = None, path_steps: np.ndarray | None = None) -> Landscape:
    """The loss at center + α·d1 + β·d2 for α, β in [−span, span] (0 exactly on the grid)."""
    center = np.asarray(center, dtype=np.float64)
    d1, d2 = random_directions(problem, center, seed)
    if not (np.any(d1) and np.any(d2)):
        raise LandscapeError("the random directions are zero: every weight at the centre is 0 "
                             "(filter-wise normalization scales each unit's direction to its weights)")
    axis, zero = centred_axis(-span, span, n)
    loss = _plane_loss(problem, center, d1, d2, axis, axis, split, stats)
    coords, steps, share = np.zeros((0, 2)), np.zeros(0, dtype=np.int64), None
    if path is not None and len(path):
        diffs = np.asarray(path, dtype=np.float64) - center
        basis = np.stack([d1, d2])
        coords = np.linalg.lstsq(basis.T, diffs.T, rcond=None)[0].T  # the plane's nearest points
        share = _variance_share(diffs, np.linalg.qr(basis.T)[0].T)
        steps = _steps(path_steps, len(path))
    return Landscape("random", split, (axis, axis), loss, coords, steps, share, (zero, zero), None, center,
                     np.stack([d1, d2]))


def _variance_share(diffs: np.ndarray, orthonormal: np.ndarray) -> float | None:
    """The share of the points' variance (about their mean) within the span of `orthonormal` rows."""
    centred = diffs - diffs.mean(axis=0)
    total = float(np.sum(centred * centred))
    if total == 0.0:
        return None
    inside = centred @ orthonormal.T
    return float(np.sum(inside * inside)) / total


def _steps(steps, count: int) -> np.ndarray:
    if steps is None:
        return np.arange(count, dtype=np.int64)
    return np.asarray(steps, dtype=np.int64)
