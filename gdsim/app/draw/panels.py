"""What each curve panel of the scenario screen shows, and which panels have anything to show.

The screen asks plot_data() for a panel's PlotData at each redraw and wanted() when its layout
changes. A panel whose curve could only ever be flat and uninformative (the velocity of an
optimizer without momentum, a learning rate that never changes) is left out, and its space goes
to those that remain.
"""

from __future__ import annotations

import numpy as np

from gdsim.app.draw.by_epoch import epoch_plot, epochs_differ
from gdsim.app.draw.series import PlotData, Trace, finite_pairs, thin, traces_for
from gdsim.app.runtime.session import Session

PANELS = ("plot-loss", "plot-val", "plot-grad", "plot-layers", "plot-velocity", "plot-lr", "plot-acc",
          "plot-wnorm", "plot-step", "plot-epochs")
# Panels shown only where the scenario is about what they draw (about()), then right after the loss.
ABOUT_METRICS = {"plot-wnorm": ("param_norm",), "plot-step": ("step_norm",), "plot-epochs": ("epochs",)}
ABOUT_NAMES = {"plot-wnorm": ("param_norm", "weight_norm"), "plot-step": ("step_norm", "step_size"),
               "plot-epochs": ("epochs",)}


def about(session: Session) -> list[str]:
    """The panels this scenario is about, in PANELS order: the learning rate when an [[expect]]
    measures it or the file gives a run a schedule that moves it (lr-schedule, reduce-on-plateau,
    cosine-warmup: at 80x24 the rate was off screen, behind the gradient norm); the weight length
    when an expect measures it (hinge-vs-bce: "cross-entropy's weights keep growing"); the step
    length when an expect measures it or a run uses AdaGrad, whose step shrinks like 1/√t whatever
    the slope (adagrad-rmsprop); the training loss by epoch when an expect or a column counts
    epochs and the runs' epochs differ in length (epochs-vs-steps, batch-size). A scenario's [view]
    table may name them too (`plots` or `columns`: "param_norm"/"weight_norm", "step_norm"/"step_size")."""
    scenario = session.loaded.scenario
    metrics = {getattr(e, "metric", None) for e in scenario.expect}
    view = getattr(scenario, "view", None)
    named: set[str] = set()
    for key in ("plots", "columns"):
        for item in getattr(view, key, None) or ():
            named.add(item if isinstance(item, str) else str(getattr(item, "metric", "")))
    optimizers = {getattr(o, "name", "") for c in session.sim.cohorts
                  for o in [c.optimizer, *(getattr(p, "optimizer", None) for p in getattr(c, "phases", ())[1:])]}
    out = ["plot-lr"] if "lr" in metrics or scheduled(scenario) else []
    for panel in ("plot-wnorm", "plot-step", "plot-epochs"):
        if panel == "plot-epochs" and not epochs_differ(session):
            continue  # one epoch length for all: the loss plot's steps are its epochs, rescaled
        if metrics & set(ABOUT_METRICS[panel]) or named & set(ABOUT_NAMES[panel]):
            out.append(panel)
        elif panel == "plot-step" and "adagrad" in optimizers:
            out.append(panel)
    return out


def scheduled(scenario) -> bool:
    """Whether the scenario file gives a run a schedule that moves its rate (a decay, cosine,
    plateau or a warm-up; not "constant" alone). Changes a learner makes mid-run do not count:
    they do not make the lesson about the rate."""
    specs = [scenario.schedule, *(getattr(run, "schedule", None) for run in scenario.runs)]
    return any(spec is not None and ((spec.name or "constant") != "constant" or (spec.warmup or 0) > 0)
               for spec in specs)


def wanted(session: Session) -> dict[str, bool]:
    """Per panel id, whether it has something to show for this scenario."""
    sim = session.sim
    fields = sim.history.fields if sim.history else ()
    chosen = about(session)
    return {
        "plot-wnorm": "plot-wnorm" in chosen and "param_norm" in fields,
        "plot-step": "plot-step" in chosen and "step_norm" in fields,
        "plot-epochs": "plot-epochs" in chosen,
        "plot-loss": True,
        "plot-val": "val_loss" in fields,
        "plot-grad": True,
        "plot-layers": "layer_grad_norm" in fields,
        "plot-velocity": sim.has_velocity,
        "plot-lr": lr_changes(session),
        "plot-acc": "val_accuracy" in fields or "val_mae" in fields,
    }


def lr_changes(session: Session) -> bool:
    """Whether any run's learning rate changes over the planned steps (schedules, warm-up,
    changes at step k, a plateau schedule's cuts)."""
    steps = np.unique(np.linspace(0, max(1, session.stop_at), 257).astype(np.int64))
    for cohort in session.sim.cohorts:
        schedule = cohort.schedule
        if getattr(schedule, "adaptive", None) is not None:
            return True
        lrs = np.asarray(schedule.lr_at(steps), dtype=np.float64)
        if lrs.size and np.nanmax(lrs) != np.nanmin(lrs):
            return True
    history = session.sim.history
    if history is not None and history.count > 1 and "lr" in history.fields:
        _, lr = history.series("lr")
        with np.errstate(all="ignore"):
            if np.any(np.nanmax(lr, axis=0) != np.nanmin(lr, axis=0)):
                return True
    return False


def plot_data(session: Session, plot_id: str, points: int, velocity_parts: bool = False) -> PlotData:
    """What panel `plot_id` shows now, with at most `points` points per trace."""
    cursor, stop = session.cursor, session.stop_at
    if plot_id == "plot-loss":
        traces = traces_for(session, "loss", points)
        levels = saddle_levels(session)
        if levels is not None:  # the crawl at the saddle, on a log axis above the minimum
            lowest, saddle = levels
            return PlotData("loss above the minimum", tuple(_above(t, lowest) for t in traces), cursor, True,
                            x_max=stop, levels=((saddle - lowest, "saddle"),), floor=SADDLE_DEPTH * (saddle - lowest))
        batched = any(getattr(c.problem, "batch_size", 0) < getattr(c.problem, "n_train", 0)
                      for c in session.sim.cohorts)
        return PlotData("loss (mini-batch)" if batched else "loss", tuple(traces), cursor, None, x_max=stop)
    if plot_id == "plot-val":
        traces = traces_for(session, "train_loss", points) + traces_for(session, "val_loss", points, kind="dots")
        return PlotData("loss: train ─ / validation ⠒", tuple(traces), cursor, None, x_max=stop)
    if plot_id == "plot-acc":
        return _quality(session, points)
    if plot_id == "plot-grad":
        traces = traces_for(session, "grad_norm", points)
        return PlotData("gradient norm |g|", tuple(traces), cursor, None, x_max=stop)
    if plot_id == "plot-layers":
        return layer_norms(session, points)
    if plot_id == "plot-lr":
        traces = traces_for(session, "lr", points)
        return PlotData("learning rate η", tuple(traces), cursor, x_max=stop)
    if plot_id == "plot-velocity":
        return _velocity(session, points, velocity_parts)
    if plot_id == "plot-wnorm":
        traces = traces_for(session, "param_norm", points)
        return PlotData("weight length |w|", tuple(traces), cursor, None, x_max=stop)
    if plot_id == "plot-step":
        traces = traces_for(session, "step_norm", points, skip=1)
        history = session.sim.history
        note = f"mean of {history.stride} steps" if session.sim.small and history and history.stride > 1 else ""
        return PlotData("step length |Δθ| per step", tuple(traces), cursor, None, note, stop)
    if plot_id == "plot-epochs":
        return epoch_plot(session, points)
    return PlotData(plot_id, (), cursor)


# The saddle's plot reaches this far below the saddle's level (four decades): the escaped runs'
# plunge reads, and the saddle's level sits a quarter of the way down, not on the top row.
SADDLE_DEPTH = 1e-4


def saddle_levels(session: Session) -> tuple[float, float] | None:
    """(the lowest loss, a saddle's loss) where every run's surface knows both (escape_saddle:
    −0.25 and 0). On a linear loss axis the saddle sat one row above the minima, and plain GD's
    hundred steps there (saddle-point's lesson) could not be seen; as the loss above the minimum on
    a log axis, a run at the saddle is a flat line on the saddle's level, well above the floor the
    escaped runs plunge to. None elsewhere: the loss plot is the plain loss."""
    found = set()
    for cohort in session.sim.cohorts:
        minima = getattr(cohort.problem, "minima", None) or ()
        lowest = min((m.value for m in minima if m.kind == "global"), default=None)
        saddles = [m.value for m in minima if m.kind == "saddle"]
        if lowest is None or not saddles or min(saddles) <= lowest:
            return None
        found.add((float(lowest), float(min(saddles))))
    return found.pop() if len(found) == 1 else None


def _above(trace: Trace, lowest: float) -> Trace:
    """A loss trace as its height above the lowest loss (rounding below it reads 0)."""
    shift = lambda v: None if v is None else np.maximum(v - lowest, 0.0)  # noqa: E731
    return Trace(trace.colour, trace.steps, shift(trace.values), trace.kind, shift(trace.low), shift(trace.high),
                 trace.diverged)


def layer_norms(session: Session, points: int) -> PlotData:
    """The selected run's gradient norm per layer (an ensemble: the median over its seeds), one
    line per layer, on a log axis: vanishing gradients shrink layer by layer towards the input."""
    history = session.sim.history
    run = session.current
    title = f"|g| by layer of {run.letter}" + (" (↑/↓)" if len(session.display) > 1 else "")
    if history is None or "layer_grad_norm" not in history.fields:
        return PlotData(title, (), session.cursor)
    steps, norms = history.series("layer_grad_norm")
    upto = int(np.searchsorted(steps, session.shown_step, side="right")) if session.cursor is not None else len(steps)
    with np.errstate(all="ignore"):
        block = norms[:upto, run.rows]
        per_layer = np.nanmedian(block, axis=1) if run.ensemble and upto else block[:, 0]
    steps, per_layer = geometric_bins(steps[:upto], per_layer, points)
    traces, legend = [], []
    layers = per_layer.shape[1] if per_layer.ndim == 2 else 0
    for layer in range(layers):
        s, v = finite_pairs(steps, per_layer[:, layer])
        if len(s):
            traces.append(Trace(layer, s, v))
            # plain numbers in the layer's colour ("─1" read as minus one), the input side named
            legend.append((f"{layer + 1}=in" if layer == 0 and layers > 1 else f"{layer + 1}", layer))
    return PlotData(title, tuple(traces), session.cursor, True if traces else False,
                    x_max=session.stop_at, legend=tuple(legend))


def geometric_bins(steps: np.ndarray, values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `points` records: consecutive records averaged in log space (geometric mean), so
    a noisy mini-batch norm reads as its level on a log axis, not as a spray of dots."""
    n = len(steps)
    if n <= points:
        return steps, values
    edges = np.linspace(0, n, points + 1).astype(np.int64)
    starts = edges[:-1][np.diff(edges) > 0]
    with np.errstate(all="ignore"):
        logs = np.log(np.where(values > 0, values, np.nan))
        finite = np.isfinite(logs)
        sums = np.add.reduceat(np.where(finite, logs, 0.0), starts, axis=0)
        counts = np.add.reduceat(finite.astype(np.float64), starts, axis=0)
        means = np.exp(sums / counts)
    at = steps[np.append(starts[1:], n) - 1].copy()  # each bin at its last record...
    at[0] = steps[0]  # ...but the axis still starts where the records do
    return at, means


def _quality(session: Session, points: int) -> PlotData:
    """Accuracy (classification) or MAE (regression), train and validation; precision and recall
    (or MSE) of the selected run beside it, at the shown step's last evaluation."""
    fields = session.sim.history.fields if session.sim.history else ()
    cursor, stop = session.cursor, session.stop_at
    room = points // 2 - 24  # the panel's width less its title
    if "val_accuracy" in fields:
        traces = traces_for(session, "train_accuracy", points) + traces_for(session, "val_accuracy", points, kind="dots")
        note = _latest(session, (("P", "precision"), ("R", "recall")), room)
        return PlotData("accuracy ─train ⠒val", tuple(traces), cursor, False, note, stop)
    traces = traces_for(session, "train_mae", points) + traces_for(session, "val_mae", points, kind="dots")
    note = _latest(session, (("MSE", "mse"),), room)
    return PlotData("MAE ─train ⠒val", tuple(traces), cursor, None, note, stop)


def _latest(session: Session, metrics, room: int) -> str:
    """'val P/R A 0.91/0.88 B 0/0' for every run at the last evaluation up to the shown step (the
    lesson's point is usually the difference between runs); when they do not all fit in `room`
    characters, the selected run's validation and training values and '↑/↓' to change it."""
    history = session.sim.history
    if history is None:
        return ""
    names = "/".join(short for short, _ in metrics)

    def values(run, split: str) -> list[str]:
        out = []
        for _, name in metrics:
            field = f"{split}_{name}"
            if field not in history.fields:
                continue
            steps, series = history.series(field)
            upto = int(np.searchsorted(steps, session.shown_step, side="right"))
            column = series[:upto, run.rows]
            if column.ndim == 2 and column.shape[1] > 1:  # an ensemble: the median over its seeds, at the
                # records where it was evaluated (metrics are NaN between evaluations: no median of nothing)
                column = np.nanmedian(column[np.isfinite(column).any(axis=1)], axis=1)
            else:
                column = column.reshape(-1)
            finite = column[np.isfinite(column)]
            if len(finite):
                out.append(f"{finite[-1]:.3g}")
        return out

    runs = list(session.display)
    every = [f"{run.letter} {'/'.join(v)}" for run in runs if (v := values(run, "val"))]
    for text in (f"val {names} " + " ".join(every), f"{names} " + " ".join(every)):
        if len(runs) > 1 and every and len(text) <= room:
            return text
    current = session.current
    parts = []
    for split in ("val", "train"):
        shown = values(current, split)
        if shown:
            parts.append(f"{split} " + " ".join(f"{short} {v}" for (short, _), v in zip(metrics, shown)))
    while len(parts) > 1 and len(" · ".join(parts)) + 6 > room:
        parts.pop()
    head = f"{current.letter}: " if len(runs) > 1 else ""
    tail = " (↑/↓)" if len(runs) > 1 else ""
    return head + " · ".join(parts) + tail if parts else ""


def _velocity(session: Session, points: int, parts: bool) -> PlotData:
    note = "" if session.sim.has_velocity else "no momentum: v = 0"
    if parts and session.sim.small:
        traces: list[Trace] = traces_for(session, "velocity", points, component=0)
        traces += traces_for(session, "velocity", points, component=1, kind="dots")
        return PlotData("velocity v: x ─ / y ⠒", tuple(traces), session.cursor, False, note, session.stop_at)
    traces = traces_for(session, "velocity_norm", points)
    return PlotData("velocity norm |v|", tuple(traces), session.cursor, None, note, session.stop_at)
