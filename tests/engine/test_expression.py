"""Tests for expression surfaces: the whitelist, exact derivatives by AD, minima and non-finite values."""

from __future__ import annotations

import builtins
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdsim.engine.expression import MAX_EXPONENT, Expression, ExpressionError
from gdsim.engine.problem import ProblemError
from gdsim.engine.surfaces import make_surface

from tests.engine.numeric import assert_close, central_difference


def points(n: int = 200, seed: int = 0, box: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-box, box, size=(n, 2))


# Between them these use every operator and every function of the whitelist, on domains where
# each is smooth for x, y in [-3, 3].
COVERAGE = [
    "sin(x)*cos(y) + tan(x/4)",
    "exp(x/2) * log(1 + y**2)",
    "sqrt(1 + x**2 + y**2) - abs(x - 5) + abs(y + 4)",
    "tanh(x*y) + sinh(x/2) - cosh(y/3)",
    "arctan(x*y) + atan(y) + arcsin(x/4) + asin(y/5) + arccos(x*y/10) + acos(y/4)",
    "x/(1 + y**2) - 3/(2 + x**2) + y/7",
    "2**x + (1 + x**2)**y + x**3 - (4 + y)**-1.5 + (x**2 + 1)**0.5 + y**0 * x**1",
    "min(x, y)**2 + maximum(x, 2*y) - minimum(x*y, 1) + max(sin(x), cos(y))",
    "-x + +y - (-(x*y)) - -3",
    "pi*x**2 + e*y + 2*pi",
    "(x - 1)**4 * (y + 0.5)**3 / 10",
]


@pytest.mark.parametrize("text", COVERAGE)
def test_gradient_and_hessian_match_finite_differences(text):
    surface = make_surface(expression=text)
    xy = points()
    value = surface.value(xy)
    assert np.isfinite(value).all()
    grad = surface.gradient(xy)
    assert_close(grad, central_difference(surface.value, xy), 1e-6, 1e-6 * (1 + np.abs(value))[:, None])
    hess = surface.hessian(xy)
    scale = (1 + np.abs(grad).max(axis=1))[:, None, None]
    assert_close(hess, central_difference(surface.gradient, xy), 1e-6, 1e-5 * scale)
    np.testing.assert_array_equal(hess[:, 0, 1], hess[:, 1, 0])
    loss, grad2 = surface.loss_and_grad(xy, None)
    np.testing.assert_allclose(loss, value, rtol=1e-15)
    np.testing.assert_allclose(grad2, grad, rtol=1e-15)


# The same functions as the built-in surfaces, written as learners would.
AS_EXPRESSIONS = [
    ("quadratic", {}, "0.5*(x**2 + 10*y**2)"),
    ("quadratic", {"condition": 4, "angle": 90}, "0.5*(4*x**2 + y**2)"),
    ("bowl", {}, "x**2 + y**2"),
    ("rosenbrock", {}, "(1 - x)**2 + 100*(y - x**2)**2"),
    ("rosenbrock", {"b": 20}, "(1-x)^2 + 20*(y-x**2)**2".replace("^", "**")),
    ("himmelblau", {}, "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"),
    ("beale", {}, "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2"),
    ("rastrigin", {}, "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)"),
    ("saddle", {}, "x**2 - y**2"),
    ("double_well", {}, "(x**2 - 1)**2 + 0.3*x + y**2"),
    ("plateau", {}, "1 - exp(-(x**2 + y**2))"),
    ("ravine", {}, "0.02*x**2 + 5*(y - sin(x))**2"),
    (
        "hills",
        {},
        "0.05*(x**2 + y**2) - 2*exp(-((x + 1.5)**2 + (y - 1)**2)/0.72)"
        " - 1.4*exp(-((x - 1.5)**2 + (y - 1.2)**2)/0.98) - exp(-((x - 0.6)**2 + (y + 1.5)**2)/0.5)",
    ),
]


@pytest.mark.parametrize(("name", "params", "text"), AS_EXPRESSIONS, ids=[a[0] for a in AS_EXPRESSIONS])
def test_expression_equals_the_built_in_surface(name, params, text):
    named = make_surface(name, **params)
    typed = make_surface(expression=text, view=named.view)
    xy = points(seed=3, box=2.0)
    value = named.value(xy)
    np.testing.assert_allclose(typed.value(xy), value, rtol=1e-12, atol=1e-12)
    grad = named.gradient(xy)
    assert_close(typed.gradient(xy), grad, 1e-11, 1e-11 * (1 + np.abs(value))[:, None])
    scale = (1 + np.abs(grad).max(axis=1))[:, None, None]
    assert_close(typed.hessian(xy), named.hessian(xy), 1e-10, 1e-10 * scale)


@pytest.mark.parametrize("name", ["himmelblau", "rosenbrock", "beale", "double_well", "hills", "ravine"])
def test_numerically_found_minima_match_the_known_ones(name):
    text = next(t for n, p, t in AS_EXPRESSIONS if n == name and not p)
    named = make_surface(name)
    typed = make_surface(expression=text, view=named.view)
    assert len(typed.minima) == len(named.minima)
    for m in typed.minima:
        index, dist = named.nearest_minimum(np.array([m.point]))
        assert dist[0] < 1e-6
        assert named.minima[index[0]].kind == m.kind
        assert m.value == pytest.approx(named.minima[index[0]].value, abs=1e-10)


def test_minima_of_a_typed_expression():
    surface = make_surface(expression="x**2 + 3*sin(y)")
    assert len(surface.minima) == 1  # y = 3 pi / 2 lies outside the default view (-3, 3)
    (m,) = surface.minima
    assert m.kind == "global" and m.value == pytest.approx(-3.0, abs=1e-12)
    assert m.point == pytest.approx((0.0, -math.pi / 2), abs=1e-8)
    assert surface.formula == "x**2 + 3*sin(y)" and surface.view == (-3.0, 3.0, -3.0, 3.0)
    wide = make_surface(expression="x**2 + 3*sin(y)", view=(-2, 2, -6, 6))
    assert [mm.kind for mm in wide.minima] == ["global", "global"]
    assert sorted(mm.point[1] for mm in wide.minima) == pytest.approx([-math.pi / 2, 3 * math.pi / 2])


def test_view_sets_the_box_start_and_where_minima_are_searched():
    surface = make_surface(expression="(x - 5)**2 + (y - 5)**2 + 1", view=(0, 10, 0, 10))
    assert surface.default_start == (8.0, 8.0)
    assert surface.minima[0].point == pytest.approx((5.0, 5.0))
    assert surface.minima[0].value == pytest.approx(1.0)
    assert make_surface(expression="(x - 5)**2 + (y - 5)**2").minima == ()


def test_functions_without_minima_report_none():
    for text in ("3", "x + y", "pi*e", "x**3"):
        surface = make_surface(expression=text)
        assert surface.minima == ()
        index, dist = surface.nearest_minimum(np.zeros((2, 2)))
        assert list(index) == [-1, -1] and np.isinf(dist).all()
    constant = make_surface(expression="2*pi + 1")
    assert constant.expression.is_constant
    assert constant.value(np.zeros((3, 2))) == pytest.approx([2 * math.pi + 1] * 3)
    assert (constant.gradient(np.zeros((3, 2))) == 0).all()
    assert (constant.hessian(np.zeros((3, 2))) == 0).all()


def test_non_finite_values_do_not_raise():
    xy = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, -5.0]])
    with np.errstate(all="raise"):  # building, minima search and the evaluation methods stay quiet
        log = make_surface(expression="log(x) + y**0.5")
        loss, grad = log.value(xy), log.gradient(xy)
        hess = log.hessian(xy)
        inverse_surface = make_surface(expression="1/x + sqrt(x)")
        inverse = inverse_surface.value(xy), inverse_surface.gradient(xy)
        huge = make_surface(expression="exp(exp(exp(x)))").value(np.array([[3.0, 0.0]]))
        pole = make_surface(expression="1/(y - y) + 1/(2 - 2 + 0*x)").value(np.array([[1.0, 2.0]]))
        # The minimum search overflows on these; building them must still not raise.
        make_surface(expression="-(x * 1e308)")
        steep = make_surface(expression="(x * 1e300)**2 + y**2")
        steep.nearest_minimum(np.array([[1e308, -1e308], [np.inf, np.nan]]))
    with np.errstate(all="ignore"):  # as the simulation holds it around loss_and_grad
        np.testing.assert_array_equal(log.loss_and_grad(xy, None)[1], grad)
    assert np.isnan(loss[0]) and loss[1] == -np.inf and np.isnan(loss[2])
    assert np.isnan(inverse[0][0]) and inverse[0][1] == np.inf and not np.isfinite(inverse[1][:2, 0]).any()
    assert not np.isfinite(grad).all() and not np.isfinite(hess).all()
    assert huge[0] == np.inf and pole[0] == np.inf


HOSTILE = [
    ("__import__('os')", "'__import__' at column 1: unknown function"),
    ("x.__class__", "'x.__class__' at column 1: attribute access is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "at column 1: attribute access is not allowed"),
    ("(lambda: 1)()", "'lambda: 1' at column 2: a lambda is not allowed"),
    ("(2)(x)", "'2' at column 2: only functions can be called"),
    ("9**9**9**9", "'9**9**9' at column 4: exponent 3.8742e+08 is too large"),
    ("'a'", "\"'a'\" at column 1: a string is not allowed"),
    ("x" * 10_000, "10000 characters long; at most 1000"),
    ("(" * 500 + "x" + ")" * 500, "parentheses nest more than 40 deep at column 41"),
    ("-" * 300 + "x", "operations nest more than 100 deep"),
    ("x^2", "'x^2' at column 1: '^' is not a power here; write x**2"),
    ("x + y**101", "'y**101' at column 5: exponent 101 is too large"),
    ("x**(50*3)", "exponent 150 is too large"),
    ("x[0]", "'x[0]' at column 1: indexing is not allowed"),
    ("[i for i in (1, 2)]", "a comprehension is not allowed"),
    ("open('f')", "'open' at column 1: unknown function"),
    ("sin(x, y)", "sin() takes 1 argument, got 2"),
    ("max(x)", "max() takes 2 arguments, got 1"),
    ("sin(x=1)", "takes no keyword arguments"),
    ("x + z", "'z' at column 5: unknown name"),
    ("exp + 1", "'exp' at column 1: exp is a function"),
    ("x if y else 1", "if/else is not allowed"),
    ("x < y", "a comparison is not allowed"),
    ("x and y", "and/or is not allowed"),
    ("True + x", "'True' at column 1: bool constant is not allowed"),
    ("1j * x", "complex constant is not allowed"),
    ("x % 2", "'%' (remainder) is not supported"),
    ("x / (2 - 2)", "'x / (2 - 2)' at column 1: division by zero"),
    ("~x", "only unary minus and plus are allowed"),
    ("(y := 2)", "an assignment is not allowed"),
    ("1e999 * x", "'1e999' at column 1: number is too large"),
    ("2x", "at column 1: invalid decimal literal; write products with *, as in 2*x"),
    ("x +* y", "cannot read it at column 4"),
    ("x\x00", "cannot read it"),
    ("   ", "the expression is empty"),
]


@pytest.mark.parametrize(("text", "fragment"), HOSTILE, ids=[h[0][:20] for h in HOSTILE])
def test_hostile_or_broken_expressions_are_rejected_with_a_clear_message(text, fragment):
    with pytest.raises(ExpressionError) as caught:
        make_surface(expression=text)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message and len(message) < 400
    assert isinstance(caught.value, ProblemError) and isinstance(caught.value, ValueError)


def test_exponent_limit_is_inclusive_and_symmetric():
    assert make_surface(expression=f"x**{MAX_EXPONENT:g}").value(np.array([[1.0, 0.0]]))[0] == 1.0
    with pytest.raises(ExpressionError, match="too large"):
        make_surface(expression=f"x**-{MAX_EXPONENT + 1:g}")


def test_non_text_and_parameters_are_refused():
    with pytest.raises(ExpressionError, match="must be text"):
        make_surface(expression=3)  # type: ignore[arg-type]
    with pytest.raises(ProblemError, match="takes no parameters, got b"):
        make_surface(expression="x**2", b=3)


def test_user_text_never_reaches_eval_or_exec(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    surface = make_surface(expression="(x**2 + y - 11)**2 + (x + y**2 - 7)**2", view=(-5, 5, -5, 5))
    surface.loss_and_grad(points(5), None)
    surface.hessian(points(5))
    assert len(surface.minima) == 4


def test_whitespace_is_normalised_and_columns_count_from_one():
    assert Expression("  x**2 +\n\ty  ").text == "x**2 + y"
    with pytest.raises(ExpressionError, match="'q' at column 8"):
        Expression("x**2 + q")


def test_noise_and_starts_work_as_for_named_surfaces():
    surface = make_surface(expression="x**2 + y**2", noise=0.3)
    seeds = np.array([4, 5])
    batch = surface.sampler(seeds).next()
    xy = surface.init_params(seeds)
    assert (np.abs(xy) <= 3).all()
    loss, grad = surface.loss_and_grad(xy, batch)
    np.testing.assert_allclose(grad, 2 * xy + 0.3 * batch)
    np.testing.assert_allclose(loss, (xy**2).sum(axis=1))
    again = make_surface(expression="x**2 + y**2", noise=0.3).sampler(seeds[::-1]).next()
    np.testing.assert_array_equal(again[::-1], batch)


def test_minima_without_derivatives_and_unbounded_functions():
    # The tip of a cone and the edge of sqrt's domain have no gradient; neighbours decide.
    for text in ("sqrt(x**2 + y**2)", "abs(x) + abs(y)", "sqrt(x) + y**2", "(x**2 + y**2)**0.25"):
        (m,) = make_surface(expression=text).minima
        assert m.point == pytest.approx((0.0, 0.0), abs=1e-9) and m.value == pytest.approx(0.0, abs=1e-9)
    # A saddle, a pole going to -inf and a one-sided pole have no minimum.
    for text in ("x*y", "log(x**2 + y**2)", "1/(x**2 + y**2)"):
        assert make_surface(expression=text).minima == ()


# Fragments learners (and attackers) type; random strings of them must parse or be refused cleanly.
FRAGMENTS = st.sampled_from(
    [
        *("x", "y", "0", "1", "2.5", "1e3", "9", "2 - 2", "pi", "e"),
        *("+", "-", "*", "/", "**", "^", "(", ")", ",", " "),
        *("sin(", "log(", "sqrt(", "max(", "abs(", "exp("),
        *(".", "_", "[", "]", "'", "lambda", ":", "__import__", "os", "="),
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(FRAGMENTS, max_size=30).map("".join))
def test_any_text_either_parses_or_raises_expression_error(text):
    try:
        expression = Expression(text)
    except ExpressionError as err:
        assert "\n" not in str(err)
        return
    xy = np.array([[0.5, -1.5], [0.0, 0.0], [2.0, 3.0]])
    with np.errstate(all="raise"):
        surface_values = make_surface(expression=text, view=(-1, 1, -1, 1)).value(xy)
    with np.errstate(all="ignore"):
        direct = np.broadcast_to(expression.value_jet(xy[:, 0], xy[:, 1])[0], (3,))
    assert np.array_equal(direct, surface_values, equal_nan=True)
