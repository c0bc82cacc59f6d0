"""Plot series: an ensemble's percentile band agrees with np.nanpercentile (linear method)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdsim.app.draw.series import nan_percentiles

# Finite values and NaN (a run not evaluated yet). With infinities NumPy's lerp gives NaN even at an
# exact rank (inf + 0 * nan); the band drops non-finite points either way.
VALUES = st.one_of(st.floats(-1e6, 1e6), st.just(np.nan))


@settings(max_examples=150, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 30)), elements=VALUES))
def test_matches_nanpercentile(block):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        expected = np.nanpercentile(block, [10, 50, 90], axis=1)
        got = nan_percentiles(block, (10, 50, 90))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-9, equal_nan=True)


def test_rows_without_values_are_nan_and_single_values_are_themselves():
    block = np.array([[np.nan, np.nan, np.nan], [np.nan, 2.0, np.nan], [3.0, 1.0, 2.0]])
    low, mid, high = nan_percentiles(block, (10, 50, 90))
    assert np.isnan(low[0]) and np.isnan(mid[0]) and np.isnan(high[0])
    assert low[1] == mid[1] == high[1] == 2.0
    assert mid[2] == 2.0 and low[2] == 1.2 and high[2] == 2.8


def test_an_infinite_value_is_ranked_not_spread():
    low, mid, high = nan_percentiles(np.array([[1.0, np.inf, 2.0, np.nan, 3.0]]), (0, 50, 100))
    assert (low[0], mid[0], high[0]) == (1.0, 2.5, np.inf)
