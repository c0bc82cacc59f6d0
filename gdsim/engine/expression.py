"""User-written surfaces such as "x**2 + 3*sin(y)": a whitelisted parse and exact derivatives.

The text is parsed with Python's ast module and then only a small whitelist is accepted:
numbers, the names x, y, pi and e, + - * / ** and unary minus, parentheses, and calls of the
functions in ALLOWED_FUNCTIONS. Everything else (attributes, subscripts, other names, strings,
lambdas, huge exponents, over-long or over-deep text) raises ExpressionError naming the piece
and its column. The text is never passed to eval or exec. Gradient and Hessian come from
forward-mode automatic differentiation (gdsim.engine.expression_ad).
"""

from __future__ import annotations

import ast
import math
from typing import Any

from gdsim.engine import expression_ad as ad
from gdsim.engine.problem import Minimum, ProblemError
from gdsim.engine.surface_base import Surface, View, find_minima

MAX_LENGTH = 1000  # characters
MAX_NESTING = 40  # parentheses inside each other
MAX_DEPTH = 100  # operations inside each other (also bounds the evaluator's recursion)
MAX_EXPONENT = 100.0  # a constant exponent beyond this only overflows; it is almost surely a typo
DEFAULT_VIEW: View = (-3.0, 3.0, -3.0, 3.0)
CONSTANTS = {"pi": math.pi, "e": math.e}
ALLOWED_FUNCTIONS: tuple[str, ...] = (*ad.FUNCTIONS, *ad.CHOOSERS)
_ALLOWED_TEXT = (
    "numbers, x, y, pi, e, + - * / **, parentheses and the functions " + ", ".join(ALLOWED_FUNCTIONS)
)
# What learners would call each rejected construct.
_DESCRIPTIONS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "a lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "a string",
    ast.NamedExpr: "an assignment",
    ast.Starred: "unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_BINARY_HINTS = {
    ast.BitXor: "'^' is not a power here; write x**2",
    ast.Mod: "'%' (remainder) is not supported",
    ast.FloorDiv: "'//' (floor division) is not supported; use /",
    ast.MatMult: "'@' is not supported",
}


class ExpressionError(ProblemError):
    """An expression that is not allowed or cannot be read; the message names the piece and column."""


class Expression:
    """A parsed expression in x and y with exact value, gradient and Hessian on arrays."""

    def __init__(self, text: str):
        self.text, self.tree = parse(text)
        # One compiled function per derivative order: (f,), (f, fx, fy), (f, fx, fy, fxx, fxy, fyy).
        self.value_jet, self.gradient_jet, self.hessian_jet = (self.tree.compile(k) for k in range(3))

    def jet(self, x: Any, y: Any, order: int) -> ad.Jet:
        return (self.value_jet, self.gradient_jet, self.hessian_jet)[order](x, y)

    @property
    def is_constant(self) -> bool:
        return isinstance(self.tree, ad.Const)


def _fail(text: str, node: ast.AST | None, problem: str) -> ExpressionError:
    if node is None or not hasattr(node, "col_offset"):
        return ExpressionError(f"expression {_short(text)}: {problem}")
    piece = ast.get_source_segment(text, node) or ""
    return ExpressionError(
        f"expression {_short(text)}: {_short(piece)} at column {node.col_offset + 1}: {problem}"
    )


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def parse(text: Any) -> tuple[str, ad.Node]:
    """The cleaned text and its derivative-ready tree, or an ExpressionError saying what is wrong."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text such as 'x**2 + y**2', got {text!r}")
    text = " ".join(text.split())  # newlines and tabs would make columns misleading
    if not text:
        raise ExpressionError("the expression is empty; write a function of x and y such as 'x**2 + y**2'")
    nesting = 0
    for column, char in enumerate(text[: MAX_LENGTH + 1], start=1):
        nesting += (char in "([{") - (char in ")]}")
        if nesting > MAX_NESTING:
            raise ExpressionError(
                f"expression {_short(text)}: parentheses nest more than {MAX_NESTING} deep at column {column}"
            )
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    try:
        module = ast.parse(text, mode="eval")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        hint = "; write products with *, as in 2*x" if "decimal literal" in str(err.msg) else ""
        raise ExpressionError(f"expression {_short(text)}: cannot read it{where}: {err.msg}{hint}") from None
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes; pathological input
        raise ExpressionError(f"expression {_short(text)}: cannot read it: {err}") from None
    return text, _Builder(text).build(module.body, 0)


class _Builder:
    """Walks the ast, rejecting anything off the whitelist and folding constant sub-expressions."""

    def __init__(self, text: str):
        self.text = text

    def build(self, node: ast.AST, depth: int) -> ad.Node:
        if depth > MAX_DEPTH:
            raise _fail(self.text, node, f"operations nest more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                return self._fold(ad.Scale(-1.0, self.build(node.operand, depth + 1)))
            raise _fail(self.text, node, "only unary minus and plus are allowed")
        if isinstance(node, ast.BinOp):
            return self._binary(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        what = _DESCRIPTIONS.get(type(node), type(node).__name__)
        raise _fail(self.text, node, f"{what} is not allowed; use {_ALLOWED_TEXT}")

    def _number(self, node: ast.Constant) -> ad.Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = "a string" if isinstance(value, (str, bytes)) else f"{type(value).__name__} constant"
            raise _fail(self.text, node, f"{what} is not allowed; use {_ALLOWED_TEXT}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _fail(self.text, node, "number is too large for a 64-bit float")
        return ad.Const(number)

    def _name(self, node: ast.Name) -> ad.Node:
        if node.id in ("x", "y"):
            return ad.Var(0 if node.id == "x" else 1)
        if node.id in CONSTANTS:
            return ad.Const(CONSTANTS[node.id])
        if node.id in ALLOWED_FUNCTIONS:
            raise _fail(self.text, node, f"{node.id} is a function; call it, as in {node.id}(x)")
        raise _fail(self.text, node, "unknown name; the variables are x and y, the constants pi and e")

    def _binary(self, node: ast.BinOp, depth: int) -> ad.Node:
        if type(node.op) in _BINARY_HINTS:
            raise _fail(self.text, node, _BINARY_HINTS[type(node.op)])
        if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            raise _fail(self.text, node, f"operator {type(node.op).__name__} is not allowed; use + - * / **")
        a, b = self.build(node.left, depth + 1), self.build(node.right, depth + 1)
        ca = a.value if isinstance(a, ad.Const) else None
        cb = b.value if isinstance(b, ad.Const) else None
        op = node.op
        if isinstance(op, ast.Pow):
            if cb is not None and abs(cb) > MAX_EXPONENT:
                raise _fail(self.text, node, f"exponent {cb:g} is too large (at most {MAX_EXPONENT:g})")
            if cb is not None:
                result = ad.pow_const(a, cb)
            elif ca is not None:
                result = ad.const_pow(ca, b)
            else:  # a ** b = exp(b log a): defined where a > 0
                result = ad.unary("exp", ad.Mul(b, ad.unary("log", a)))
        elif isinstance(op, ast.Add):
            result = ad.Add(b, a) if ca is not None else ad.Add(a, b)
        elif isinstance(op, ast.Sub):
            if ca is not None:  # c - b = (-b) + c
                result = ad.Add(self._fold(ad.Scale(-1.0, b)), a)
            else:
                result = ad.Add(a, b, negate_b=True)
        elif isinstance(op, ast.Mult):
            if ca is not None:
                result = ad.Scale(ca, b)
            else:
                result = ad.Scale(cb, a) if cb is not None else ad.Mul(a, b)
        elif cb == 0.0:
            raise _fail(self.text, node, "division by zero")
        elif cb is not None:  # division by a constant is a multiplication
            result = ad.Scale(1.0 / cb, a)
        else:
            result = ad.divide(a, b)
        return self._fold(result)

    def _call(self, node: ast.Call, depth: int) -> ad.Node:
        if not isinstance(node.func, ast.Name):
            self.build(node.func, depth + 1)  # names the forbidden piece (attribute, lambda, ...)
            raise _fail(self.text, node.func, f"only functions can be called: {', '.join(ALLOWED_FUNCTIONS)}")
        name = node.func.id
        if name not in ALLOWED_FUNCTIONS:
            raise _fail(self.text, node.func, f"unknown function; allowed: {', '.join(ALLOWED_FUNCTIONS)}")
        if node.keywords:
            raise _fail(self.text, node.keywords[0].value, f"{name}() takes no keyword arguments")
        want = 2 if name in ad.CHOOSERS else 1
        if len(node.args) != want:
            plural = "s" if want > 1 else ""
            raise _fail(self.text, node, f"{name}() takes {want} argument{plural}, got {len(node.args)}")
        args = [self.build(arg, depth + 1) for arg in node.args]
        if name in ad.CHOOSERS:
            return self._fold(ad.Choose(args[0], args[1], ad.CHOOSERS[name]))
        return self._fold(ad.unary(name, args[0]))

    @staticmethod
    def _fold(node: ad.Node) -> ad.Node:
        """A node whose inputs are all constants becomes one constant."""
        children = [v for v in vars(node).values() if isinstance(v, ad.Node)]
        if children and all(isinstance(c, ad.Const) for c in children):
            return ad.Const(ad.evaluate_constant(node))
        return node


class ExpressionSurface(Surface):
    """A surface from a learner's expression; minima found numerically inside the view."""

    name = "expression"
    title = "Your expression"
    DEFAULT_VIEW = DEFAULT_VIEW

    def __init__(self, text: str, *, noise: float = 0.0, view: Any = None):
        self.expression = Expression(text)
        super().__init__(noise=noise, view=view)
        # Start toward the upper-right corner of whatever box the learner chose.
        xmin, xmax, ymin, ymax = self.view
        self.default_start = (xmax - 0.2 * (xmax - xmin), ymax - 0.2 * (ymax - ymin))

    def _formula(self) -> str:
        return self.expression.text

    def _minima(self) -> list[Minimum]:
        return find_minima(self, self.view)

    def _value(self, x, y):
        return self.expression.value_jet(x, y)[0]

    def _gradient(self, x, y):
        return self.expression.gradient_jet(x, y)[1:]

    def _value_and_gradient(self, x, y):
        return self.expression.gradient_jet(x, y)

    def _hessian(self, x, y):
        return self.expression.hessian_jet(x, y)[3:]
