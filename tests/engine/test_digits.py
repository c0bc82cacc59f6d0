"""The shipped UCI optical digits: the file as scikit-learn ships it, checked as it is read."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from gdsim.engine import digits
from gdsim.engine.datasets import DatasetError, make_dataset
from gdsim.engine.learning import make_dataset_problem
from gdsim.engine.problem import ProblemError


def test_digits_are_shipped_and_complete():
    data = make_dataset("digits")
    assert data.x.shape == (1797, 64) and data.x.dtype == np.float64
    assert data.task == "multiclass" and data.class_names == tuple("0123456789")
    assert data.feature_names[0] == "pixel_0_0" and data.feature_names[-1] == "pixel_7_7"
    assert data.x.min() == 0 and data.x.max() == 16 and np.array_equal(data.x, np.round(data.x))
    assert np.bincount(data.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # scikit-learn's load_digits().data[0], a zero: the first image's top two rows
    assert data.x[0, :16].tolist() == [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
    assert data.y[0] == 0 and data.y[1] == 1
    # read once: the arrays are shared by every problem, so nobody may write into them
    assert make_dataset("digits").x is data.x and not data.x.flags.writeable


def test_images_are_rows_of_eight_pixels():
    data = make_dataset("digits")
    image = digits.images(data.x[:3])
    assert image.shape == (3, 8, 8)
    assert image[0, 1].tolist() == data.x[0, 8:16].tolist()


def test_digits_take_no_generator_settings():
    with pytest.raises(ProblemError, match="classes does not apply to dataset 'digits'"):
        make_dataset("digits", classes=3)
    with pytest.raises(ProblemError, match="imbalance applies to generated"):
        make_dataset("digits", imbalance=0.1)


@pytest.mark.parametrize("content, words", [
    (b"not gzip at all", "cannot be read"),
    (gzip.compress(b"1,2,3\n4,5,6\n"), "expected 1797 rows of 64 pixels"),
    (gzip.compress(("\n".join(",".join(["17"] * 64 + ["3"]) for _ in range(1797)) + "\n").encode()),
     "pixels must be whole numbers 0-16"),
])
def test_a_damaged_file_is_named_not_trained_on(tmp_path, content, words):
    path = tmp_path / "digits.csv.gz"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=words) as caught:
        digits.load_digits(path)
    assert str(path) in str(caught.value)


def test_a_digits_problem_splits_70_15_15_and_keeps_where_each_row_came_from():
    problem = make_dataset_problem(dataset="digits", model="softmax", standardize=True)
    assert (problem.n_train, problem.n_val, problem.n_test) == (1258, 270, 269)
    assert problem.n_inputs == 64 and problem.n_outputs == 10 and problem.loss_name == "cce"
    rows = problem.split_rows["test"]
    x, y = problem.split_points("test")
    np.testing.assert_array_equal(y, problem.data.y[rows])
    # standardized inputs, from the raw pixels of the same rows
    mean, scale = problem.x_mean, problem.x_scale
    np.testing.assert_allclose(x, (problem.data.x[rows] - mean) / scale)
