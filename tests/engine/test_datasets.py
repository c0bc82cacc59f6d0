"""Data sets: seeded generation, splits, standardization, Iris, and CSV files with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from gdsim.engine.datasets import (
    GENERATED,
    OUTLIER_SHIFT,
    DatasetError,
    make_dataset,
    read_csv,
    split_indices,
    standardizer,
)
from gdsim.engine.problem import ProblemError


@pytest.mark.parametrize("name", GENERATED)
def test_generated_sets_are_a_pure_function_of_the_seed(name):
    a = make_dataset(name, samples=120, noise=0.1, data_seed=5)
    b = make_dataset(name, samples=120, noise=0.1, data_seed=5)
    c = make_dataset(name, samples=120, noise=0.1, data_seed=6)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    assert a.x.shape[0] == 120 and a.x.dtype == np.float64 and np.isfinite(a.x).all()
    if a.task == "regression":
        assert a.true_coefficients is not None and a.n_classes == 0
    else:
        assert a.x.shape[1] == 2 and set(np.unique(a.y)) == set(range(a.n_classes))


def test_line_and_plane_follow_their_true_coefficients():
    for name, d in (("line", 1), ("plane", 2)):
        data = make_dataset(name, samples=500, noise=0.0)
        coef = data.true_coefficients
        assert data.x.shape == (500, d) and coef.shape == (d + 1,)
        np.testing.assert_allclose(data.x @ coef[:-1] + coef[-1], data.y, atol=1e-12)
    plane = make_dataset("plane", samples=500)
    spread = plane.x.std(axis=0)
    assert spread[1] > 4 * spread[0]  # the unscaled feature that makes standardization matter


def test_class_counts_and_class_errors():
    assert make_dataset("blobs").n_classes == 3
    assert make_dataset("blobs", classes=5).n_classes == 5
    assert make_dataset("spirals", classes=3).task == "multiclass"
    assert make_dataset("moons").task == "binary"
    with pytest.raises(ProblemError, match="dataset 'moons' has exactly 2 classes"):
        make_dataset("moons", classes=3)
    with pytest.raises(ProblemError, match="classes must be a whole number from 2 to 10"):
        make_dataset("blobs", classes=1)
    with pytest.raises(ProblemError, match="regression"):
        make_dataset("line", classes=2)


def test_bad_generator_settings_are_named():
    with pytest.raises(ProblemError, match="dataset 'mooons' is not known; choose one of: line"):
        make_dataset("mooons")
    with pytest.raises(ProblemError, match="samples must be between 10 and 200000, got 3"):
        make_dataset("moons", samples=3)
    with pytest.raises(ProblemError, match="noise must be a number >= 0"):
        make_dataset("moons", noise=-1)


def test_iris_is_shipped_and_complete():
    iris = make_dataset("iris")
    assert iris.x.shape == (150, 4)
    assert iris.class_names == ("setosa", "versicolor", "virginica")
    assert np.bincount(iris.y).tolist() == [50, 50, 50]
    assert iris.feature_names[0] == "sepal_length"
    np.testing.assert_allclose(iris.x[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_allclose(iris.x.mean(axis=0), [5.8433, 3.0573, 3.758, 1.1993], atol=1e-3)


def test_split_is_seeded_disjoint_and_complete():
    train, val, test = split_indices(100, (0.7, 0.15, 0.15), data_seed=1)
    assert (len(train), len(val), len(test)) == (70, 15, 15)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    again = split_indices(100, [0.7, 0.15, 0.15], data_seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    assert not np.array_equal(train, split_indices(100, (0.7, 0.15, 0.15), data_seed=2)[0])
    with pytest.raises(ProblemError, match="must add up to 1"):
        split_indices(100, (0.7, 0.2, 0.2), 0)
    with pytest.raises(ProblemError, match="three fractions"):
        split_indices(100, (0.7, 0.3), 0)
    with pytest.raises(ProblemError, match="leaves no validation samples"):
        split_indices(10, (0.96, 0.02, 0.02), 0)


def test_standardizer_uses_the_given_rows_and_survives_constant_columns():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    mean, scale = standardizer(x)
    np.testing.assert_allclose(mean, [2.0, 5.0])
    np.testing.assert_allclose(scale, [1.0, 1.0])


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows(n, label=lambda i: "a" if i % 2 else "b"):
    return "".join(f"{i},{i * 0.5},{label(i)}\n" for i in range(n))


def test_csv_reads_features_and_maps_text_labels_to_classes(tmp_path):
    path = write(tmp_path, "x1,x2,kind\n" + rows(12))
    data = read_csv(path, "kind")
    assert data.x.shape == (12, 2) and data.feature_names == ("x1", "x2")
    assert data.class_names == ("a", "b") and data.task == "binary"
    assert data.y[:3].tolist() == [1, 0, 1]


def test_csv_numeric_target_is_regression_unless_it_looks_like_labels(tmp_path):
    path = write(tmp_path, "x1,x2,y\n" + rows(12, label=lambda i: f"{i * 1.5 + 0.25}"))
    assert read_csv(path, "y").task == "regression"
    labels = write(tmp_path, "x1,x2,y\n" + rows(12, label=lambda i: str(i % 3)), "labels.csv")
    assert read_csv(labels, "y").task == "multiclass"
    assert read_csv(labels, "y", want="regression").task == "regression"


@pytest.mark.parametrize(
    "text, target, message",
    [
        ("", "y", r"data.csv: the file is empty"),
        ("x1,x2,y\n", "y", r"data.csv: 0 data rows; at least 10"),
        ("x1,x2,y\n1,2,3\n", "y", r"data.csv: 1 data row; at least 10"),
        ("x1,x2,y\n" + rows(12), "label", r"no column named 'label'; the columns are: x1, x2, y"),
        ("x1,x2,y\n" + rows(4) + "4,abc,a\n" + rows(8), "y", r"row 5, column 'x2': 'abc' is not a number"),
        ("x1,x2,y\n" + rows(4) + "4,,a\n" + rows(8), "y", r"row 5, column 'x2': 'an empty cell'"),
        ("x1,x2,y\n" + rows(6) + "inf,1,a\n" + rows(6), "y", r"row 7, column 'x1': 'inf' is not a finite"),
        ("x1,x2,y\n" + rows(3) + "1,2\n" + rows(8), "y", r"row 4 has 2 fields but the header has 3"),
        ("x1,x2,y\n" + rows(12, label=lambda i: "same"), "y", r"column 'y' holds only one class"),
        ("y\n" + "1\n" * 12, "y", r"at least one feature column"),
    ],
)
def test_csv_errors_name_the_file_row_and_column(tmp_path, text, target, message):
    path = write(tmp_path, text)
    with pytest.raises(DatasetError, match=message) as info:
        read_csv(path, target)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ProblemError)


def test_csv_missing_file_and_required_keys(tmp_path):
    with pytest.raises(DatasetError, match="nope.csv: no such file"):
        make_dataset("csv", path="nope.csv", target="y", base_dir=str(tmp_path))
    with pytest.raises(ProblemError, match="dataset 'csv' needs path"):
        make_dataset("csv", target="y")
    with pytest.raises(ProblemError, match="dataset 'csv' needs target"):
        make_dataset("csv", path="x.csv")


def test_csv_path_is_relative_to_base_dir_and_regression_wants_numbers(tmp_path):
    write(tmp_path, "x1,x2,y\n" + rows(12))
    data = make_dataset("csv", path="data.csv", target="y", base_dir=str(tmp_path), want="classification")
    assert data.n_classes == 2
    with pytest.raises(DatasetError, match=r"row 1, column 'y': 'b' is not a number"):
        make_dataset("csv", path="data.csv", target="y", base_dir=str(tmp_path), want="regression")


def test_csv_too_many_rows_and_non_utf8(tmp_path, monkeypatch):
    import gdsim.engine.datasets as datasets

    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 100)
    with pytest.raises(DatasetError, match=r"big.csv: .* MB is too large \(at most 50 MB\)"):
        read_csv(write(tmp_path, "x1,x2,y\n" + rows(12), "big.csv"), "y")
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 50 * 2**20)
    monkeypatch.setattr(datasets, "MAX_ROWS", 11)
    with pytest.raises(DatasetError, match="12 data rows is too many"):
        read_csv(write(tmp_path, "x1,x2,y\n" + rows(12)), "y")
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"x,y\n\xff\xfe,1\n")
    with pytest.raises(DatasetError, match="latin.csv: not UTF-8 text"):
        read_csv(bad, "y")


def test_numpy_numbers_are_accepted_and_classes_do_not_apply_to_files():
    data = make_dataset("moons", samples=np.int64(40), noise=np.float64(0.1))
    assert data.x.shape == (40, 2)
    with pytest.raises(ProblemError, match="classes does not apply to dataset 'iris'"):
        make_dataset("iris", classes=3)


# -- outliers and imbalance ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["line", "plane"])
def test_outliers_move_a_fraction_of_targets_up_and_leave_the_rest(name):
    clean = make_dataset(name, samples=200, noise=0.5, data_seed=3)
    dirty = make_dataset(name, samples=200, noise=0.5, data_seed=3, outliers=0.1)
    np.testing.assert_array_equal(dirty.x, clean.x)  # same points: a clean run is a fair reference
    moved = np.flatnonzero(dirty.y != clean.y)
    assert len(moved) == 20
    np.testing.assert_allclose(dirty.y[moved] - clean.y[moved], OUTLIER_SHIFT * clean.y.std(), rtol=1e-12)
    np.testing.assert_array_equal(dirty.true_coefficients, clean.true_coefficients)
    again = make_dataset(name, samples=200, noise=0.5, data_seed=3, outliers=0.1)
    np.testing.assert_array_equal(again.y, dirty.y)
    other = make_dataset(name, samples=200, noise=0.5, data_seed=4, outliers=0.1)
    assert not np.array_equal(np.flatnonzero(other.y != make_dataset(name, samples=200, noise=0.5, data_seed=4).y),
                              moved)
    np.testing.assert_array_equal(make_dataset(name, samples=200, data_seed=3, outliers=0.0).y,
                                  make_dataset(name, samples=200, data_seed=3).y)


@pytest.mark.parametrize("name,classes", [("moons", None), ("circles", None), ("xor", None), ("blobs", 2),
                                          ("spirals", 2)])
def test_imbalance_sets_the_share_of_class_one(name, classes):
    data = make_dataset(name, samples=400, noise=0.1, classes=classes, data_seed=2, imbalance=0.05)
    assert data.x.shape == (400, 2) and data.task == "binary"
    np.testing.assert_array_equal(np.bincount(data.y), [380, 20])
    again = make_dataset(name, samples=400, noise=0.1, classes=classes, data_seed=2, imbalance=0.05)
    np.testing.assert_array_equal(again.x, data.x)
    np.testing.assert_array_equal(again.y, data.y)
    assert not np.array_equal(make_dataset(name, samples=400, noise=0.1, classes=classes, data_seed=3,
                                           imbalance=0.05).x, data.x)
    # Both classes are shuffled through the set, not one block after the other.
    assert 0 < np.flatnonzero(data.y == 1).min() and np.flatnonzero(data.y == 1).max() < 399


def test_imbalanced_points_come_from_their_class_distribution():
    data = make_dataset("blobs", samples=1000, noise=0.3, classes=2, data_seed=1, imbalance=0.2)
    np.testing.assert_array_equal(np.bincount(data.y), [800, 200])
    # blobs with 2 classes: class 0 around (2, 0), class 1 around (-2, 0)
    np.testing.assert_allclose(data.x[data.y == 0].mean(axis=0), [2, 0], atol=0.05)
    np.testing.assert_allclose(data.x[data.y == 1].mean(axis=0), [-2, 0], atol=0.1)
    tiny = make_dataset("moons", samples=10, imbalance=0.001)
    np.testing.assert_array_equal(np.bincount(tiny.y), [9, 1])  # at least one of each class


@pytest.mark.parametrize("kwargs,message", [
    (dict(name="moons", outliers=0.1), "outliers applies to the regression data sets line and plane"),
    (dict(name="line", outliers=0.6), r"outliers must be a number in \[0, 0.5\], got 0.6"),
    (dict(name="line", outliers=True), "outliers must be a number"),
    (dict(name="line", imbalance=0.1), "imbalance applies to generated two-class data sets"),
    (dict(name="iris", imbalance=0.1), "imbalance applies to generated two-class data sets"),
    (dict(name="spirals", classes=3, imbalance=0.1), "with classes = 3"),
    (dict(name="blobs", imbalance=0.1), "set classes = 2"),
    (dict(name="moons", imbalance=0.0), r"imbalance must be a number in \(0, 1\), got 0.0"),
    (dict(name="moons", imbalance=1), r"imbalance must be a number in \(0, 1\), got 1"),
])
def test_outlier_and_imbalance_errors_name_the_key(kwargs, message):
    with pytest.raises(ProblemError, match=message):
        make_dataset(kwargs.pop("name"), **kwargs)
