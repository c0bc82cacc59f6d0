"""The 2-D surfaces a scenario can name, and make_surface, the one way to build any of them.

    make_surface("rosenbrock", b=20)            # Distill's gentler banana
    make_surface(expression="x**2 + 3*sin(y)")  # a learner's own function
    make_surface("quadratic", condition=50, angle=30, noise=0.5)

Every surface implements gdsim.engine.problem.Problem on (R, 2) parameter rows. The expression
parser and its differentiator are imported only for `expression =` surfaces (they are not needed
to open any other scenario).
"""

from __future__ import annotations

from typing import Any

from gdsim.engine.problem import Minimum, ProblemError
from gdsim.engine.surface_base import Surface, View, find_minima
from gdsim.engine.surface_catalog import Beale, Himmelblau, Rastrigin, Rosenbrock
from gdsim.engine.surface_shapes import (
    Bowl,
    DoubleWell,
    EscapeSaddle,
    Hills,
    Plateau,
    Quadratic,
    Ravine,
    Saddle,
)

__all__ = [
    "ExpressionError",
    "ExpressionSurface",
    "SURFACES",
    "SURFACE_NAMES",
    "Minimum",
    "ProblemError",
    "Surface",
    "find_minima",
    "make_surface",
]

SURFACES: dict[str, type[Surface]] = {
    cls.name: cls
    for cls in (
        Quadratic,
        Bowl,
        Rosenbrock,
        Himmelblau,
        Beale,
        Rastrigin,
        Saddle,
        EscapeSaddle,
        DoubleWell,
        Plateau,
        Ravine,
        Hills,
    )
}
SURFACE_NAMES: tuple[str, ...] = tuple(SURFACES)


def __getattr__(name: str) -> Any:
    """ExpressionError and ExpressionSurface, imported when first asked for."""
    if name in ("ExpressionError", "ExpressionSurface"):
        from gdsim.engine import expression

        return getattr(expression, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_surface(
    name: str | None = None,
    *,
    expression: str | None = None,
    noise: float = 0.0,
    view: View | None = None,
    **params: Any,
) -> Surface:
    """A built-in surface by name (with its parameters), or a surface from an expression in x and y.

    Exactly one of `name` and `expression` is given. `noise` is the standard deviation of
    Gaussian noise added to each gradient (not to the value); `view` overrides the default
    (xmin, xmax, ymin, ymax) box used for start points, maps and numerically found minima.
    """
    if (name is None) == (expression is None):
        raise ProblemError("a surface needs exactly one of a name or an expression")
    if expression is not None:
        if params:
            raise ProblemError(
                f"an expression surface takes no parameters, got {', '.join(sorted(params))};"
                " write the numbers into the expression"
            )
        from gdsim.engine.expression import ExpressionSurface

        return ExpressionSurface(expression, noise=noise, view=view)
    cls = SURFACES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ProblemError(f"unknown surface {name!r}; valid surfaces: {', '.join(SURFACE_NAMES)}")
    return cls(noise=noise, view=view, **params)
