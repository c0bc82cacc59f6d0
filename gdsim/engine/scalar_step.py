"""The fast path for a few 2-D runs: a cohort stepped on Python floats, bit for bit as its arrays.

A NumPy call costs a microsecond or two whatever the array's size, and a cohort step makes about
forty of them, so three single-run cohorts (the usual lesson) spend ~200 us a step in call
overhead. Python float arithmetic costs ~50 ns an operation: stepped one number at a time, the
same cohort costs a few microseconds a run.

No formula is written twice. The optimizer's update is built from a per-element rule
(Optimizer.elementwise) and the surfaces' `_value_and_gradient(x, y)` use arithmetic operators
or NumPy ufuncs; both are called here on floats, in the order the array code performs them.
+ - * / and sqrt are correctly rounded (IEEE 754) on a float and on an array element alike, on
every CPU. exp, sin and cos are not: NumPy's SIMD kernels (chosen per CPU: AVX-512, AVX2, NEON)
may differ from the C library's `math.exp` in the last bit, so the surfaces that need them call
the NumPy ufunc on the float too (np.exp(x) runs the same dispatched loop for one element as for
an array's), never `math`. Learning rates come from the schedule, which computes them on floats
for both paths. So every value has the same bits as Cohort.step would give
(tests/engine/test_scalar_step.py compares them exhaustively, and tests/engine/test_cohort_size.py
compares a run alone, among a few and among many; .ci/run runs both at NumPy's best dispatch and
with AVX2 and AVX-512 off). Bits may differ between machines, never between cohort sizes.
What the cohort does around the rule is mirrored here in a few lines: gradient clipping (as
torch's clip_grad_norm_), gradient noise, and freezing a diverged run at its last finite state.

A ScalarCohort keeps a cohort's state as floats while Simulation.step runs, and writes every
attribute back (new arrays, as Cohort.step leaves them) before it returns; the next step(n)
reuses the floats if the cohort still holds those very arrays (nobody modifies a cohort's arrays
in place: Cohort.step does not either). A division by zero (eps = 0 and a zero gradient: NumPy's
0/0 is NaN, Python's raises) steps that cohort once through its arrays instead.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from gdsim.engine.surface_catalog import Beale, Himmelblau, Rastrigin, Rosenbrock
from gdsim.engine.surface_shapes import Bowl, DoubleWell, EscapeSaddle, Plateau, Quadratic, Ravine, Saddle

# Surfaces whose _value_and_gradient takes floats: pure arithmetic (a float in, a float out) ...
PURE_SURFACES = frozenset({Rosenbrock, Himmelblau, Beale, Quadratic, Bowl, Saddle, EscapeSaddle, DoubleWell})
# ... or NumPy ufuncs (np.exp, np.sin) that return np.float64 from the same loop an array uses
# (never math.exp: the C library and NumPy's SIMD kernels may round differently).
# Hills (sums over an axis) and expression surfaces step as arrays.
UFUNC_SURFACES = frozenset({Plateau, Ravine, Rastrigin})

# Largest cohort stepped on floats. Measured with history (benchmarks/bench_engine.py --threshold,
# 2 cores): floats cost ~5 us a step plus 5-9 us a run, arrays 55-90 us almost whatever R is, so
# floats win up to ~10 runs for adam and centered rmsprop, ~12 for sgd; 8 keeps a margin.
MAX_RUNS = 8


def takes(cohort, max_runs: int = MAX_RUNS) -> bool:
    """Whether `cohort` can be stepped here: a few runs of a listed surface, an element-by-element
    optimizer, no evaluation, and a state of a step count and (R, 2) arrays."""
    kind = type(cohort.problem)
    if len(cohort.rows) > max_runs or not (kind in PURE_SURFACES or kind in UFUNC_SURFACES):
        return False
    rule = getattr(cohort.optimizer, "elementwise", None)  # stand-in optimizers in tests have none
    if rule is None or cohort.eval_every or type(cohort.lr) is not float:
        return False
    state = cohort.state
    shape = cohort.params.shape
    return (
        type(state) is rule.state
        and isinstance(state[0], int)
        and all(f is None or (isinstance(f, np.ndarray) and f.shape == shape) for f in state[1:])
    )


class ScalarCohort:
    """One cohort's runs as floats: per run, (x, y) each with its state fields, gradient, loss."""

    def __init__(self, cohort, loss_bound: float):
        self.cohort = cohort
        self.n = len(cohort.rows)
        elementwise = cohort.optimizer.elementwise
        self.prepare, self.rule = elementwise.prepare, elementwise.rule
        problem = cohort.problem
        self.surface = problem._value_and_gradient
        self.to_float = type(problem) in UFUNC_SURFACES
        self.noise = problem.noise if problem.noise != 0.0 else None  # the sampler draws only then
        self.clip_norm = cohort.clip_norm
        self.bound = cohort.bound
        self.loss_bound = loss_bound
        self.pending: list[float] = []  # records not yet written to the history, flat
        self.written: tuple | None = None  # the arrays store() last gave the cohort
        self.froze = False  # whether a run was frozen since the last store()

    # -- between the cohort's arrays and floats --------------------------------------------------
    def load(self) -> None:
        c = self.cohort
        written = self.written
        if written and all(map(operator.is_, self.current(), written)) and c.frozen.tolist() == self.frozen:
            return  # still what store() wrote (nothing replaced it): the floats are current
        params, fields = c.params.tolist(), [None if f is None else f.tolist() for f in c.state[1:]]
        # run r, coordinate i: (parameter, *state fields), the arguments the rule takes and returns
        self.comp = [
            tuple((params[r][i], *(None if f is None else f[r][i] for f in fields)) for i in (0, 1))
            for r in range(self.n)
        ]
        self.template = c.state  # its type, and which fields are None
        self.grad = [tuple(g) for g in c.grad.tolist()]
        self.loss = c.loss.tolist()
        self.frozen = c.frozen.tolist()
        self.diverged = c.diverged_at.tolist()
        self.step_no = c.state.step
        self.lr = c.lr
        velocity = c.velocity()
        # where the velocity sits in a coordinate's tuple (its index in the state), or None
        self.velocity_at = None if velocity is None else [f is velocity for f in c.state].index(True)

    def current(self) -> tuple:
        c = self.cohort
        return c.params, c.grad, c.loss, c.state, c.lr

    def store(self) -> None:
        """Write back as new arrays, as Cohort.step leaves them (it never modifies its arrays in
        place, except the frozen and diverged_at flags, which are updated in place here too).
        The arrays are views of one block: a single conversion from floats instead of five."""
        c, n = self.cohort, self.n
        fields = [j for j, f in enumerate(self.template) if j and f is not None]
        flat = list(self.loss)
        for j in (0, *fields):
            for x, y in self.comp:
                flat += (x[j], y[j])
        for g in self.grad:
            flat += g
        block = np.array(flat, dtype=np.float64)
        c.loss = block[:n]
        arrays = [block[n + 2 * n * i : n + 2 * n * (i + 1)].reshape(n, 2) for i in range(len(fields) + 2)]
        c.params, c.grad = arrays[0], arrays[-1]
        state = [None] * (len(self.template) - 1)
        for j, array in zip(fields, arrays[1:]):
            state[j - 1] = array
        c.state = type(self.template)(self.step_no, *state)
        if self.froze:
            c.frozen[:] = self.frozen
            c.diverged_at[:] = self.diverged
            c.any_frozen = bool(c.frozen.any())
            self.froze = False
        c.lr = self.lr
        self.written = self.current()

    # -- one update, as Cohort.step ----------------------------------------------------------------
    def step(self, k: int) -> None:
        step_no = self.step_no + 1
        coefs = self.prepare(step_no, self.lr)
        rule, clip, surface = self.rule, self.clip_norm, self.surface
        frozen, comp, grad = self.frozen, self.comp, self.grad
        moved = []
        try:  # everything that may raise comes before any change (the noise is drawn after)
            for r in range(self.n):
                if frozen[r]:  # the arrays compute it and then put the old values back
                    moved.append(None)
                    continue
                gx, gy = grad[r]
                if clip is not None:
                    scale = clip / (math.sqrt(gx * gx + gy * gy) + 1e-6)  # einsum's order
                    if scale >= 1.0:  # np.minimum(1.0, scale), NaN kept
                        scale = 1.0
                    gx, gy = gx * scale, gy * scale
                x, y = comp[r]
                x, y = rule(coefs, gx, *x), rule(coefs, gy, *y)
                moved.append((x, y, surface(x[0], y[0])))
        except ArithmeticError:
            self.store()
            self.cohort.step(k)
            self.load()
            return
        noise = self.noise
        if noise is not None:
            batch = self.cohort.sampler.next().tolist()
        bound, loss_bound = self.bound, self.loss_bound
        for r, new in enumerate(moved):
            if new is None:
                continue
            x, y, (loss, gx, gy) = new
            if self.to_float:
                loss, gx, gy = float(loss), float(gx), float(gy)
            if noise is not None:
                draw = batch[r]
                gx, gy = gx + noise * draw[0], gy + noise * draw[1]
            if abs(x[0]) <= bound and abs(y[0]) <= bound and abs(loss) <= loss_bound:  # NaN fails
                comp[r] = x, y
                grad[r] = gx, gy
                self.loss[r] = loss
            else:  # diverged: frozen at the last finite state, labelled with the step
                frozen[r] = True
                self.diverged[r] = k + 1
                self.froze = True
        self.step_no = step_no
        self.lr = self.cohort.lr_at(k + 1)

    # -- history: records gathered as floats, written a block at a time ------------------------------
    def remember(self, row: int) -> None:
        """Append this step's record to one flat list of floats: lr, losses, then per run x, y of
        params, grad and velocity (no container a record: thousands would wake the collector)."""
        j, pending = self.velocity_at, self.pending
        pending.append(self.lr)
        pending += self.loss
        for (x, y), g in zip(self.comp, self.grad):
            pending += (x[0], y[0], *g) if j is None else (x[0], y[0], *g, x[j], y[j])

    def flush(self, history, first: int) -> None:
        """Write the pending records into history rows first, first + 1, ..."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        runs = self.n
        width = 1 + runs * (5 if self.velocity_at is None else 7)
        block = np.array(pending, dtype=np.float64).reshape(-1, width)
        rows = slice(first, first + len(block))
        where = self.cohort.where
        history.put(rows, "lr", where, block[:, :1])
        history.put(rows, "loss", where, block[:, 1 : 1 + runs])
        per_run = block[:, 1 + runs :].reshape(len(block), runs, -1)
        history.put(rows, "params", where, per_run[:, :, 0:2])
        history.put(rows, "grad", where, per_run[:, :, 2:4])
        if self.velocity_at is not None:
            history.put(rows, "velocity", where, per_run[:, :, 4:6])
