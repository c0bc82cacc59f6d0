"""Data sets for the learning problems: generated ones from a seed, shipped Iris and digits
(gdsim/engine/digits.py), and user CSV files.

Every generated data set is a pure function of (name, samples, noise, classes, data_seed,
outliers, imbalance): the same settings give the same points on any machine. `noise` is the
standard deviation of the Gaussian noise added to the targets (line, plane) or to the points (the
2-D classification sets).

Two keys make a generated set harder in a way lessons need:
- `outliers` (line, plane): that fraction of the points get their target moved up by
  OUTLIER_SHIFT standard deviations of the clean targets. The clean points are the same as
  without outliers (the outliers are drawn from a stream of their own), so a run on the clean
  set is a fair reference.
- `imbalance` (two-class sets): the share of class 1 (the positive class), e.g. 0.05 for one
  point in twenty. The points of each class are drawn from the balanced generator.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gdsim.engine.problem import STREAM_DATA, ProblemError, run_rng

GENERATED = ("line", "plane", "blobs", "moons", "circles", "xor", "spirals")
SHIPPED = ("iris", "digits")  # read from gdsim/engine/data as they are
DATASETS = GENERATED + SHIPPED + ("csv",)
IRIS_PATH = Path(__file__).parent / "data" / "iris.csv"
MAX_CSV_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MIN_ROWS = 10
# A numeric target column counts as class labels (when the model and loss do not say) if it holds
# whole numbers with at most this many distinct values.
MAX_GUESSED_CLASSES = 10

# The coefficients that generate `line` and `plane`. Plane's second feature spans a range five
# times wider than the first, so unstandardized gradient descent zig-zags (a teaching point).
LINE_COEF = (np.array([2.0]), 1.0)
PLANE_COEF = (np.array([1.5, -2.0]), 0.5)
PLANE_SCALES = np.array([1.0, 5.0])
# An outlier's target is moved up by this many standard deviations of the clean targets.
OUTLIER_SHIFT = 10.0
MAX_OUTLIERS = 0.5


class DatasetError(ProblemError):
    """A data set that cannot be made or read (the message names the file, row and column)."""


@dataclass(frozen=True)
class Dataset:
    """Features, targets and what they mean. For classification y holds class numbers 0..K-1."""

    name: str
    x: np.ndarray  # (n, d) float64
    y: np.ndarray  # (n,) float64 targets, or int64 class numbers
    task: str  # "regression", "binary" or "multiclass"
    feature_names: tuple[str, ...]
    target_name: str = "y"
    class_names: tuple[str, ...] = ()
    true_coefficients: np.ndarray | None = field(default=None)  # weights then bias (line, plane)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def _classification(name, x, labels, k):
    task = "binary" if k == 2 else "multiclass"
    names = tuple(f"class {i}" for i in range(k))
    return Dataset(name, x, labels.astype(np.int64), task, ("x1", "x2"), "class", names)


def _regression(name, rng, n, noise, coef, scales):
    weights, bias = coef
    x = rng.uniform(-1.0, 1.0, (n, len(weights))) * scales
    y = x @ weights + bias + noise * rng.standard_normal(n)
    names = tuple(f"x{i + 1}" for i in range(len(weights)))
    return Dataset(name, x, y, "regression", names, "y", (), np.append(weights, bias))


def _two_groups(n: int) -> tuple[int, int]:
    return n - n // 2, n // 2


def _generate(name: str, n: int, noise: float, classes: int, rng: np.random.Generator) -> Dataset:
    if name == "line":
        return _regression(name, rng, n, noise, LINE_COEF, np.array([3.0]))
    if name == "plane":
        return _regression(name, rng, n, noise, PLANE_COEF, PLANE_SCALES)
    if name == "moons":  # as sklearn.datasets.make_moons: two interleaved half circles
        n_out, n_in = _two_groups(n)
        t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
        outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
        inner = np.column_stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)])
        x, labels = np.vstack([outer, inner]), np.repeat([0, 1], [n_out, n_in])
    elif name == "circles":  # a ring of radius 1 around a disc edge of radius 0.5
        n_out, n_in = _two_groups(n)
        t = rng.uniform(0, 2 * np.pi, n)
        radius = np.repeat([1.0, 0.5], [n_out, n_in])
        x, labels = radius[:, None] * np.column_stack([np.cos(t), np.sin(t)]), (radius < 1)
    elif name == "xor":  # class 1 where the two coordinates share a sign
        x = rng.uniform(-1.0, 1.0, (n, 2))
        labels = x[:, 0] * x[:, 1] > 0
    elif name == "blobs":  # Gaussian clouds (spread = noise) centred evenly on a circle of radius 2
        labels = np.arange(n) % classes
        angle = 2 * np.pi * labels / classes
        x = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    else:  # spirals: `classes` arms, each 1.5 turns from the centre out to radius 2.5
        labels = np.arange(n) % classes
        t = rng.uniform(0.0, 1.0, n)
        angle = 3 * np.pi * t + 2 * np.pi * labels / classes
        x = (0.2 + 2.3 * t)[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    x = x + noise * rng.standard_normal(x.shape)
    return _classification(name, x, np.asarray(labels), classes)


def make_dataset(
    name: str,
    *,
    samples: int = 300,
    noise: float = 0.2,
    classes: int | None = None,
    data_seed: int = 0,
    path: str | None = None,
    target: str | None = None,
    base_dir: str | None = None,
    want: str | None = None,
    outliers: float = 0.0,
    imbalance: float | None = None,
) -> Dataset:
    """The data set `name`; `want` ("regression" or "classification") settles a CSV target's use."""
    if name not in DATASETS:
        raise ProblemError(f"dataset {name!r} is not known; choose one of: {', '.join(DATASETS)}")
    if name in (*SHIPPED, "csv") and classes is not None:
        raise ProblemError(f"classes does not apply to dataset {name!r}: its classes come from the target column")
    outliers = _check_outliers(name, outliers)
    if imbalance is not None:
        imbalance = _check_imbalance(name, imbalance, classes)
    if name == "iris":
        return read_csv(IRIS_PATH, "species", want="classification", name="iris")
    if name == "digits":
        from gdsim.engine.digits import load_digits

        return load_digits()
    if name == "csv":
        if not path:
            raise ProblemError("dataset 'csv' needs path = \"file.csv\" (relative to the scenario file)")
        if not target:
            raise ProblemError("dataset 'csv' needs target = \"<column name>\" (the column to predict)")
        full = Path(path) if base_dir is None else Path(base_dir) / path
        return read_csv(full, target, want=want, name="csv")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)):
        raise ProblemError(f"samples must be a whole number, got {samples!r}")
    if not MIN_ROWS <= samples <= MAX_ROWS:
        raise ProblemError(f"samples must be between {MIN_ROWS} and {MAX_ROWS}, got {samples}")
    if isinstance(noise, bool) or not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise ProblemError(f"noise must be a number >= 0, got {noise!r}")
    k = _classes_for(name, classes)
    if imbalance is not None:
        data = _imbalanced(name, int(samples), float(noise), imbalance, data_seed)
    else:
        data = _generate(name, int(samples), float(noise), k, run_rng(data_seed, STREAM_DATA))
    return _with_outliers(data, outliers, data_seed) if outliers else data


def _fraction(key: str, value, low: float, high: float, *, open_low: bool, open_high: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and (value < high if open_high else value <= high)
    if not ok:
        lo, hi = ("(" if open_low else "[") + f"{low:g}", f"{high:g}" + (")" if open_high else "]")
        raise ProblemError(f"{key} must be a number in {lo}, {hi}, got {value!r}")
    return float(value)


def _check_outliers(name: str, outliers) -> float:
    value = _fraction("outliers", outliers, 0.0, MAX_OUTLIERS, open_low=False, open_high=False)
    if value and name not in ("line", "plane"):
        raise ProblemError(f"outliers applies to the regression data sets line and plane, not to dataset {name!r} "
                           "(it moves a fraction of the targets far up)")
    return value


def _check_imbalance(name: str, imbalance, classes) -> float:
    if name in ("line", "plane", *SHIPPED, "csv") or (classes is not None and classes != 2):
        raise ProblemError(f"imbalance applies to generated two-class data sets (moons, circles, xor, blobs or "
                           f"spirals with classes = 2), not to dataset {name!r}"
                           + (f" with classes = {classes}" if classes not in (None, 2) else ""))
    if name == "blobs" and classes is None:
        raise ProblemError("imbalance applies to two classes, and dataset 'blobs' has 3 unless told: set classes = 2")
    return _fraction("imbalance", imbalance, 0.0, 1.0, open_low=True, open_high=True)


def _imbalanced(name: str, n: int, noise: float, share: float, data_seed: int) -> Dataset:
    """n points of which round(share * n) are class 1 (at least one of each class)."""
    n1 = min(max(1, round(share * n)), n - 1)
    n0 = n - n1
    # A balanced set with enough points of each class, from the same generator; then a seeded
    # choice of n0 points of class 0 and n1 of class 1, kept in a shuffled order.
    size = 2 * max(n0, n1) + 1
    while True:  # xor's labels are random: grow the pool (deterministically) until both suffice
        pool = _generate(name, size, noise, 2, run_rng(data_seed, STREAM_DATA))
        if np.count_nonzero(pool.y == 0) >= n0 and np.count_nonzero(pool.y == 1) >= n1:
            break
        size *= 2
    rng = np.random.default_rng([int(data_seed), STREAM_DATA, 3])
    picked = np.concatenate([rng.choice(np.flatnonzero(pool.y == c), size, replace=False)
                             for c, size in ((0, n0), (1, n1))])
    picked = rng.permutation(picked)
    return Dataset(name, pool.x[picked], pool.y[picked], pool.task, pool.feature_names, pool.target_name,
                   pool.class_names)


def _with_outliers(data: Dataset, fraction: float, data_seed: int) -> Dataset:
    """The same points with round(fraction * n) targets moved up by OUTLIER_SHIFT clean spreads."""
    n = len(data.y)
    count = round(fraction * n)
    if count == 0:
        return data
    rng = np.random.default_rng([int(data_seed), STREAM_DATA, 2])
    rows = rng.choice(n, count, replace=False)
    y = data.y.copy()
    y[rows] += OUTLIER_SHIFT * data.y.std()
    return Dataset(data.name, data.x, y, data.task, data.feature_names, data.target_name, data.class_names,
                   data.true_coefficients)


def _classes_for(name: str, classes: int | None) -> int:
    if name in ("line", "plane"):
        if classes is not None:
            raise ProblemError(f"classes does not apply to dataset {name!r} (a regression data set)")
        return 0
    default = 3 if name == "blobs" else 2
    if classes is None:
        return default
    if name not in ("blobs", "spirals"):
        if classes != 2:
            raise ProblemError(f"dataset {name!r} has exactly 2 classes; classes = {classes} is not possible")
        return 2
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or not 2 <= classes <= 10:
        raise ProblemError(f"classes must be a whole number from 2 to 10, got {classes!r}")
    return int(classes)


def read_csv(path: Path | str, target: str, *, want: str | None = None, name: str = "csv") -> Dataset:
    """A data set from a CSV file with a header row; every column but `target` is a numeric feature.

    The target is a class label if `want` is "classification", or if `want` is None and the column
    holds text or at most 10 distinct whole numbers; otherwise it is a number to predict.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (dataset 'csv' reads path relative to the scenario file)")
    size = os.path.getsize(path)
    if size > MAX_CSV_BYTES:
        raise DatasetError(f"{path}: {size / 2**20:.0f} MB is too large (at most 50 MB)")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text (a CSV file was expected)") from None
    except csv.Error as exc:
        raise DatasetError(f"{path}: not readable as CSV ({exc})") from None
    if not rows:
        raise DatasetError(f"{path}: the file is empty (expected a header row and data rows)")
    header = [cell.strip() for cell in rows[0]]
    data = rows[1:]
    columns = ", ".join(header)
    if target not in header:
        raise DatasetError(f"{path}: no column named {target!r}; the columns are: {columns}")
    if len(header) < 2:
        raise DatasetError(f"{path}: only the target column {target!r}; at least one feature column is needed")
    if len(data) < MIN_ROWS:
        raise DatasetError(
            f"{path}: {len(data)} data row{'s' if len(data) != 1 else ''}; at least {MIN_ROWS} are "
            "needed to split into training, validation and test sets"
        )
    if len(data) > MAX_ROWS:
        raise DatasetError(f"{path}: {len(data)} data rows is too many (at most {MAX_ROWS})")
    t_col = header.index(target)
    features = [i for i in range(len(header)) if i != t_col]
    x = np.empty((len(data), len(features)))
    raw_target = []
    for r, row in enumerate(data, start=1):
        if len(row) != len(header):
            raise DatasetError(f"{path}: row {r} has {len(row)} fields but the header has {len(header)}")
        for j, c in enumerate(features):
            x[r - 1, j] = _number(path, r, header[c], row[c])
        raw_target.append(row[t_col].strip())
    y, task, class_names = _target(path, target, raw_target, want)
    return Dataset(name, x, y, task, tuple(header[c] for c in features), target, class_names)


def _number(path: Path, row: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        shown = text.strip() or "an empty cell"
        raise DatasetError(
            f"{path}: row {row}, column {column!r}: {shown!r} is not a number "
            "(feature columns must be numeric)"
        ) from None
    if not math.isfinite(value):
        raise DatasetError(f"{path}: row {row}, column {column!r}: {text.strip()!r} is not a finite number")
    return value


def _target(path: Path, target: str, cells: list[str], want: str | None):
    numbers = []
    for cell in cells:
        try:
            numbers.append(float(cell))
        except ValueError:
            break
    numeric = len(numbers) == len(cells)
    if numeric and not all(math.isfinite(v) for v in numbers):
        row = next(i for i, v in enumerate(numbers, start=1) if not math.isfinite(v))
        raise DatasetError(f"{path}: row {row}, column {target!r}: {cells[row - 1]!r} is not a finite number")
    if want is None:
        whole = numeric and all(v == int(v) for v in numbers)
        want = "classification" if not numeric or (whole and len(set(numbers)) <= MAX_GUESSED_CLASSES) \
            else "regression"
    if want == "regression":
        if not numeric:
            row = len(numbers) + 1
            raise DatasetError(
                f"{path}: row {row}, column {target!r}: {cells[row - 1]!r} is not a number "
                "(a regression target must be numeric; use a classification loss for labels)"
            )
        return np.array(numbers), "regression", ()
    keys = sorted(set(numbers)) if numeric else sorted(set(cells))
    if len(keys) < 2:
        raise DatasetError(f"{path}: column {target!r} holds only one class ({cells[0]!r}); at least 2 are needed")
    if len(keys) > 100:
        raise DatasetError(f"{path}: column {target!r} has {len(keys)} classes (at most 100)")
    index = {k: i for i, k in enumerate(keys)}
    y = np.array([index[v] for v in (numbers if numeric else cells)], dtype=np.int64)
    names = tuple(f"{k:g}" if numeric else k for k in keys)
    return y, "binary" if len(keys) == 2 else "multiclass", names


def split_indices(n: int, split, data_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffled train/validation/test index arrays from fractions summing to 1 (seeded)."""
    try:
        fractions = [float(f) for f in split]
    except (TypeError, ValueError):
        raise ProblemError(f"split must be three fractions like [0.7, 0.15, 0.15], got {split!r}") from None
    if len(fractions) != 3 or any(not math.isfinite(f) or f < 0 for f in fractions):
        raise ProblemError(f"split must be three fractions >= 0 like [0.7, 0.15, 0.15], got {split!r}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ProblemError(f"split fractions must add up to 1, got {split!r} (sum {sum(fractions):g})")
    n_train, n_val = round(fractions[0] * n), round(fractions[1] * n)
    n_val = min(n_val, n - n_train)
    if n_train < 2:
        raise ProblemError(f"split {split!r} leaves {n_train} training samples of {n}; at least 2 are needed")
    for label, frac, count in (("validation", fractions[1], n_val), ("test", fractions[2], n - n_train - n_val)):
        if frac > 0 and count < 1:
            raise ProblemError(f"split {split!r} leaves no {label} samples of {n}; use more samples")
    order = np.random.default_rng([int(data_seed), STREAM_DATA, 1]).permutation(n)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def standardizer(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of the training features (a constant column keeps spread 1)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)
