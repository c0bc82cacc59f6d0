"""Tests for the built-in surfaces: exact derivatives, stated minima, noise, grids and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdsim.engine.problem import ProblemError
from gdsim.engine.surfaces import SURFACE_NAMES, Surface, find_minima, make_surface

from tests.engine.numeric import assert_close, central_difference

# Every surface with its defaults, plus non-default parameters that change the formulas.
VARIANTS = [(name, {}) for name in SURFACE_NAMES] + [
    ("quadratic", {"condition": 50.0, "angle": 30.0}),
    ("rosenbrock", {"b": 20.0}),
    ("rosenbrock", {"a": -0.5, "b": 3.0}),
    ("rastrigin", {"amplitude": 3.0}),
    ("double_well", {"tilt": -0.7}),
    ("plateau", {"width": 2.0}),
    ("ravine", {"floor": 0.1, "wall": 2.0, "bend": 0.5}),
]
IDS = [name + "".join(f"-{k}={v:g}" for k, v in params.items()) for name, params in VARIANTS]


def random_points(surface: Surface, n: int = 300, seed: int = 0) -> np.ndarray:
    xmin, xmax, ymin, ymax = surface.view
    return np.random.default_rng(seed).uniform((xmin, ymin), (xmax, ymax), size=(n, 2))


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=IDS)
def test_gradient_matches_finite_differences(name, params):
    surface = make_surface(name, **params)
    xy = random_points(surface)
    fd = central_difference(surface.value, xy, 1e-6)
    scale = 1.0 + np.abs(surface.value(xy))[:, None]
    assert_close(surface.gradient(xy), fd, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=IDS)
def test_hessian_matches_finite_differences_of_gradient(name, params):
    surface = make_surface(name, **params)
    xy = random_points(surface, seed=1)
    fd = central_difference(surface.gradient, xy, 1e-6)
    scale = 1.0 + np.abs(surface.gradient(xy)).max(axis=1)[:, None, None]
    hess = surface.hessian(xy)
    assert_close(hess, fd, rtol=1e-6, atol=1e-5 * scale)
    np.testing.assert_array_equal(hess[:, 0, 1], hess[:, 1, 0])


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=IDS)
def test_loss_and_grad_agrees_with_value_and_gradient(name, params):
    surface = make_surface(name, **params)
    xy = random_points(surface, n=7, seed=2)
    loss, grad = surface.loss_and_grad(xy, surface.sampler(np.arange(7)).next())
    assert loss.shape == (7,) and grad.shape == (7, 2)
    np.testing.assert_array_equal(loss, surface.value(xy))
    np.testing.assert_array_equal(grad, surface.gradient(xy))
    # Rows are independent: evaluating one row alone gives the same numbers.
    np.testing.assert_array_equal(surface.value(xy[3:4]), loss[3:4])
    np.testing.assert_array_equal(surface.gradient(xy[3:4]), grad[3:4])


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=IDS)
def test_known_minima_are_stationary_with_stated_values(name, params):
    surface = make_surface(name, **params)
    assert surface.minima, "every built-in surface states at least one stationary point"
    points = np.array([m.point for m in surface.minima])
    values = np.array([m.value for m in surface.minima])
    np.testing.assert_allclose(surface.value(points), values, rtol=1e-12, atol=1e-12)
    assert np.abs(surface.gradient(points)).max() < 1e-8
    eig = np.linalg.eigvalsh(surface.hessian(points))
    kinds = [m.kind for m in surface.minima]
    for kind, (low, high) in zip(kinds, eig):
        assert kind in ("global", "local", "saddle")
        if kind == "saddle":
            assert low < 0 < high
        else:
            assert low > 0  # all listed minima are strict
    lowest = min((m.value for m in surface.minima if m.kind != "saddle"), default=None)
    for m in surface.minima:
        if m.kind != "saddle":
            assert (m.kind == "global") == math.isclose(m.value, lowest, abs_tol=1e-9)


# Surfaces whose listed minima are all the minima inside the default view.
COMPLETE_MINIMA = ["quadratic", "bowl", "rosenbrock", "himmelblau", "beale", "double_well", "plateau"]
COMPLETE_MINIMA += ["ravine"]


@pytest.mark.parametrize("name", [*COMPLETE_MINIMA, "escape_saddle"])
def test_numerical_search_finds_exactly_the_listed_minima(name):
    surface = make_surface(name)
    found = find_minima(surface, surface.view)
    assert len(found) == sum(m.kind != "saddle" for m in surface.minima)
    for m in found:
        index, dist = surface.nearest_minimum(np.array([m.point]))
        assert dist[0] < 1e-6
        assert surface.minima[index[0]].kind == m.kind


def test_stated_minima_of_the_classic_functions():
    assert [m.point for m in make_surface("rosenbrock").minima] == [(1.0, 1.0)]
    assert [m.point for m in make_surface("rosenbrock", b=20).minima] == [(1.0, 1.0)]
    assert [m.point for m in make_surface("beale").minima] == [(3.0, 0.5)]
    himmelblau = make_surface("himmelblau")
    published = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    np.testing.assert_allclose([m.point for m in himmelblau.minima], published, atol=1e-6)
    assert all(m.kind == "global" and m.value == 0.0 for m in himmelblau.minima)
    assert [m.kind for m in make_surface("saddle").minima] == ["saddle"]
    assert [m.kind for m in make_surface("escape_saddle").minima] == ["global", "global", "saddle"]


def test_rastrigin_lists_every_local_minimum_in_its_view():
    surface = make_surface("rastrigin")
    assert surface.minima[0].point == (0.0, 0.0) and surface.minima[0].kind == "global"
    # Near each integer pair in [-5, 5]^2 there is one minimum: 121 in all.
    assert len(surface.minima) == 121
    assert sum(m.kind == "global" for m in surface.minima) == 1
    points = np.array([m.point for m in surface.minima])
    np.testing.assert_allclose(points, np.round(points), atol=0.03)
    ones = [m for m in surface.minima if m.point == (0.0, pytest.approx(-0.99495864, abs=1e-7))]
    assert ones and ones[0].value == pytest.approx(0.99495906, abs=1e-7)
    # A smaller view keeps only the minima inside it.
    assert len(make_surface("rastrigin", view=(-1.5, 1.5, -0.5, 0.5)).minima) == 3


def test_double_well_has_a_deeper_left_well_and_a_shallower_right_one():
    surface = make_surface("double_well")
    (left, right) = surface.minima
    assert left.kind == "global" and left.point[0] < -1.0 and left.value < -0.3
    assert right.kind == "local" and right.point[0] > 0.9 and right.value > 0.29
    assert right.value - left.value > 0.5
    assert [m.kind for m in make_surface("double_well", tilt=-0.3).minima] == ["global", "local"]
    assert make_surface("double_well", tilt=-0.3).minima[0].point[0] > 0
    with pytest.raises(ProblemError, match="tilt must lie strictly between"):
        make_surface("double_well", tilt=2.0)


def test_hills_have_one_global_and_two_local_minima():
    kinds = [m.kind for m in make_surface("hills").minima]
    assert kinds == ["global", "local", "local"]


def test_plateau_is_flat_enough_that_plain_descent_crawls_and_momentum_crosses():
    surface = make_surface("plateau")
    plain = heavy = np.array([surface.default_start])
    velocity = np.zeros((1, 2))
    for _ in range(300):
        plain = plain - 0.1 * surface.gradient(plain)
        velocity = 0.9 * velocity + surface.gradient(heavy)
        heavy = heavy - 0.1 * velocity
    assert np.hypot(*plain[0]) > 2.5  # barely moved from 2.9
    assert np.hypot(*heavy[0]) < 0.05


def test_gradient_descent_lingers_at_the_escape_saddle_then_leaves():
    surface = make_surface("escape_saddle")
    path = [np.array([surface.default_start])]
    for _ in range(120):
        path.append(path[-1] - 0.1 * surface.gradient(path[-1]))
    index, dist = surface.nearest_minimum(np.concatenate(path))
    assert surface.minima[index[40]].kind == "saddle" and dist[40] < 0.05
    assert surface.minima[index[-1]].kind == "global" and dist[-1] < 1e-3


def test_quadratic_condition_number_and_rotation():
    for angle in (0.0, 30.0, 90.0):
        surface = make_surface("quadratic", condition=25, angle=angle)
        hess = surface.hessian(np.zeros((1, 2)))[0]
        low, high = np.linalg.eigvalsh(hess)
        assert high / low == pytest.approx(25.0)
        # The steep direction is the y axis rotated by `angle`.
        theta = math.radians(angle)
        steep = np.array([-math.sin(theta), math.cos(theta)])
        assert steep @ hess @ steep == pytest.approx(25.0)
    assert make_surface("quadratic").value(np.array([[1.0, 1.0]]))[0] == pytest.approx(5.5)


def test_formulas_show_the_parameters():
    assert make_surface("rosenbrock", b=20).formula == "(1 - x)^2 + 20 (y - x^2)^2"
    assert make_surface("quadratic").formula == "0.5 (x^2 + 10 y^2)"
    assert "30 degrees" in make_surface("quadratic", angle=30).formula
    assert make_surface("double_well", tilt=-0.5).formula == "(x^2 - 1)^2 - 0.5 x + y^2"


@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_every_surface_describes_itself(name):
    surface = make_surface(name)
    assert surface.name == name and surface.title and surface.formula and surface.n_params == 2
    xmin, xmax, ymin, ymax = surface.view
    x0, y0 = surface.default_start
    assert xmin <= x0 <= xmax and ymin <= y0 <= ymax


def test_init_params_are_uniform_in_the_view_reproducible_and_per_run():
    surface = make_surface("rosenbrock")
    starts = surface.init_params(np.arange(2000))
    xmin, xmax, ymin, ymax = surface.view
    assert starts.shape == (2000, 2)
    assert starts[:, 0].min() >= xmin and starts[:, 0].max() <= xmax
    assert starts[:, 1].min() >= ymin and starts[:, 1].max() <= ymax
    assert starts[:, 0].mean() == pytest.approx((xmin + xmax) / 2, abs=0.1)
    np.testing.assert_array_equal(surface.init_params([7, 3])[0], surface.init_params([7])[0])
    np.testing.assert_array_equal(surface.init_params([3, 7])[1], surface.init_params([7])[0])
    assert not np.array_equal(surface.init_params([1])[0], surface.init_params([2])[0])


def test_noise_is_added_to_the_gradient_only_and_reproducible_per_seed():
    quiet = make_surface("himmelblau")
    noisy = make_surface("himmelblau", noise=0.5)
    assert quiet.sampler([1, 2]).next() is None
    xy = np.array([[0.5, 0.5], [1.0, -1.0], [2.0, 0.0]])
    sampler = noisy.sampler([10, 11, 12])
    batch = sampler.next()
    assert batch.shape == (3, 2)
    loss, grad = noisy.loss_and_grad(xy, batch)
    np.testing.assert_array_equal(loss, quiet.value(xy))
    np.testing.assert_allclose(grad, quiet.gradient(xy) + 0.5 * batch)
    # Seed 11's draws are the same whatever runs sit beside it, step after step.
    alone, crowd = noisy.sampler([11]), noisy.sampler([99, 11, 5, 6])
    for _ in range(300):  # past the first chunk of pre-drawn steps
        np.testing.assert_array_equal(alone.next()[0], crowd.next()[1])
    draws = np.stack([noisy.sampler(np.arange(4000)).next()])[0]
    assert draws.std() == pytest.approx(1.0, abs=0.05)
    assert abs(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]) < 0.05


def test_grid_is_laid_out_for_contour_maps():
    surface = make_surface("rosenbrock")
    xs, ys, z = surface.grid(7, 5)
    assert xs.shape == (7,) and ys.shape == (5,) and z.shape == (5, 7)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == surface.view
    assert z[2, 4] == surface.value(np.array([[xs[4], ys[2]]]))[0]
    xs, ys, z = make_surface("bowl").grid(3, 3, view=(0, 2, 0, 2))
    np.testing.assert_array_equal(z, [[0, 1, 4], [1, 2, 5], [4, 5, 8]])


def test_nearest_minimum_picks_the_closest_listed_point():
    surface = make_surface("himmelblau")
    points = np.array([m.point for m in surface.minima]) + 0.01
    index, dist = surface.nearest_minimum(points)
    np.testing.assert_array_equal(index, [0, 1, 2, 3])
    np.testing.assert_allclose(dist, math.sqrt(2) * 0.01)
    index, dist = surface.nearest_minimum(np.array([[np.nan, 0.0], [0.0, 0.0], [np.inf, 1.0]]))
    assert list(index[[0, 2]]) == [-1, -1] and list(dist[[0, 2]]) == [np.inf, np.inf]
    assert index[1] == 0 and dist[1] == pytest.approx(math.hypot(3.0, 2.0))


def test_diverged_points_give_non_finite_numbers_without_raising():
    surface = make_surface("rosenbrock")
    far = np.array([[1e200, -1e200], [np.nan, 0.0]])
    with np.errstate(all="raise"):  # the evaluation methods silence floating-point errors themselves
        values, grads, hessians = surface.value(far), surface.gradient(far), surface.hessian(far)
        _, _, z = surface.grid(3, 3, view=(1e200, 2e200, 0.0, 1.0))
    assert not np.isfinite(values).any() and not np.isfinite(grads).all() and not np.isfinite(hessians).all()
    assert not np.isfinite(z).any()
    with np.errstate(all="ignore"):  # loss_and_grad leaves that to its caller, as the simulation does
        loss, grad = surface.loss_and_grad(far, None)
    np.testing.assert_array_equal(loss, values)
    np.testing.assert_array_equal(grad, grads)


def test_unknown_names_and_parameters_are_explained():
    with pytest.raises(ProblemError, match="unknown surface 'banana'.*rosenbrock.*himmelblau"):
        make_surface("banana")
    with pytest.raises(ProblemError, match="no parameter 'c'.*valid parameters: a, b"):
        make_surface("rosenbrock", c=3)
    with pytest.raises(ProblemError, match="no parameter 'tilt'.*valid parameters: none"):
        make_surface("himmelblau", tilt=3)
    with pytest.raises(ProblemError, match="condition must be > 0"):
        make_surface("quadratic", condition=-1)
    with pytest.raises(ProblemError, match="parameter b must be a number"):
        make_surface("rosenbrock", b="lots")
    with pytest.raises(ProblemError, match="noise .* must be >= 0"):
        make_surface("bowl", noise=-0.1)
    with pytest.raises(ProblemError, match="xmin < xmax"):
        make_surface("bowl", view=(1, -1, 0, 1))
    with pytest.raises(ProblemError, match="four"):
        make_surface("bowl", view=(1, 2))
    with pytest.raises(ProblemError, match="four numbers"):
        make_surface("bowl", view="1234")
    with pytest.raises(ValueError, match="got shape"):
        make_surface("bowl").value(np.zeros((4, 3)))
    with pytest.raises(ProblemError, match="exactly one"):
        make_surface()
    with pytest.raises(ProblemError, match="exactly one"):
        make_surface("bowl", expression="x**2")


def test_view_override_moves_the_default_start_inside():
    surface = make_surface("rosenbrock", view=(0.0, 2.0, 0.0, 2.0))
    assert surface.view == (0.0, 2.0, 0.0, 2.0)
    assert surface.default_start == (0.0, 1.0)
