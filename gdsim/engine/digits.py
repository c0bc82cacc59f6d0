"""The UCI optical digits shipped with gdsim: 1,797 handwritten digits as 8x8 images, 10 classes.

The file (gdsim/engine/data/digits.csv.gz, see the README beside it) is scikit-learn's copy,
byte for byte: one image per row, 64 pixel counts 0-16 row by row, then the digit. It is read
once per process and checked as it is read (a damaged file is a DatasetError naming it, not a
model trained on garbage).
"""

from __future__ import annotations

import gzip
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

DIGITS_PATH = Path(__file__).parent / "data" / "digits.csv.gz"
IMAGE_SHAPE = (8, 8)  # rows x columns of pixels; pixel (r, c) is feature r * 8 + c
PIXEL_MAX = 16  # each pixel counts the inked cells of a 4x4 block of the original 32x32 bitmap
ROWS = 1797
CLASS_NAMES = tuple(str(d) for d in range(10))
FEATURE_NAMES = tuple(f"pixel_{r}_{c}" for r in range(IMAGE_SHAPE[0]) for c in range(IMAGE_SHAPE[1]))


@lru_cache(maxsize=1)
def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from gdsim.engine.datasets import DatasetError

    try:
        with gzip.open(path, "rt", encoding="ascii") as handle:
            table = np.loadtxt(handle, delimiter=",", ndmin=2)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"{path}: the shipped digits file cannot be read ({exc}); reinstall gdsim") from None
    pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    if table.shape != (ROWS, pixels + 1):
        raise DatasetError(f"{path}: expected {ROWS} rows of {pixels} pixels and a label, "
                           f"found {table.shape[0]} rows of {table.shape[1]} columns; reinstall gdsim")
    x, labels = table[:, :pixels], table[:, pixels]
    whole = np.all(table == np.round(table))
    if not whole or x.min() < 0 or x.max() > PIXEL_MAX or labels.min() < 0 or labels.max() > 9:
        raise DatasetError(f"{path}: pixels must be whole numbers 0-{PIXEL_MAX} and labels 0-9; reinstall gdsim")
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = labels.astype(np.int64)
    x.flags.writeable = False  # shared by every problem of the process (the cache)
    y.flags.writeable = False
    return x, y


def load_digits(path: Path | str = DIGITS_PATH):
    """The digits as a Dataset: x (1797, 64) pixel counts 0-16 as float64, y (1797,) digits 0-9."""
    from gdsim.engine.datasets import Dataset

    x, y = _read(Path(path))
    return Dataset("digits", x, y, "multiclass", FEATURE_NAMES, "digit", CLASS_NAMES)


def images(x: np.ndarray) -> np.ndarray:
    """Rows of 64 pixels (n, 64) as images (n, 8, 8), row by row as the file stores them."""
    x = np.asarray(x)
    return x.reshape(x.shape[0], *IMAGE_SHAPE)
