"""`gdsim new [NAME]`: write NAME.toml, a commented starter scenario that loads and verifies as it is.

Without NAME the file is my-scenario.toml, or my-scenario-2.toml, -3... if that exists. The file is
written atomically and never replaces an existing file unless --force is given.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gdsim.errors import UserError
from gdsim.fileio import check_writable, write_text_atomic

TEMPLATE = '''\
# A gdsim scenario: one lesson about gradient descent.
#   gdsim check {file}            validate this file
#   gdsim check --verify {file}   run it and check the [[expect]] entries below
#   gdsim run {file}              print the runs;  gdsim {file}  opens it in the app
# Every key, its default and its range: `gdsim docs scenarios` (and `gdsim schema` for editors).

[scenario]
title = "{title}"
# The misconception this scenario takes apart, as a learner would say it.
claim = "Gradient descent always finds the global minimum."
# Markdown shown beside the plots: a few short paragraphs in plain words.
lesson = """
Gradient descent only sees the slope where it stands. Started on the right, it rolls into the
nearer, shallower well and stays there; started on the left, it finds the deeper one.
"""
try_this = [
    "Move the start of 'from the right' to x = -0.5 and run again.",
    "Raise the learning rate until the runs start to jump between the wells.",
]
steps = 300          # default run length (1 to 10,000,000)
seed = 0             # default seed for random starts, noise and mini-batches
# order = 100        # position in `gdsim list` (0 to 10,000; default 1000)
# tags = ["local minima"]

[problem]
surface = "double_well"   # quadratic, bowl, rosenbrock, himmelblau, beale, rastrigin, saddle,
                          # double_well, plateau, ravine, hills
tilt = 0.3                # a surface parameter: makes the left well deeper
# noise = 0.5             # standard deviation of Gaussian noise added to each gradient
# Or a formula in x and y:   expression = "x**2 + 3*sin(y)"
# Or a model on a data set:  dataset = "moons", model = "mlp", hidden = [16, 16],
#                            activation = "tanh", loss = "bce", batch_size = 32

[optimizer]
name = "sgd"         # sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, newton, cg, natural
lr = 0.05
# momentum = 0.9     # torch.optim's names and defaults

# [schedule]         # optional: constant, step, exponential, cosine (+ warmup)
# name = "step"
# step_size = 100
# gamma = 0.5

[[runs]]
label = "from the left"
start = [-1.8, 1.0]  # leave out for a random start drawn from the run's seed

[[runs]]
label = "from the right"
start = [1.8, 1.0]
# optimizer = {{ momentum = 0.9 }}   # each run may override optimizer, schedule and problem keys
# seeds = 50                         # an ensemble: 50 runs with consecutive seeds

# Self-checks: `gdsim check --verify` runs the scenario and tests each statement.
[[expect]]
because = "Started on the left, the run reaches the deeper, global minimum."
run = "from the left"
ends_in = "global"

[[expect]]
because = "Started on the right, it stays in the shallow, local minimum."
run = "from the right"
ends_in = "local"

[[expect]]
because = "Both runs come to rest: the gradient vanishes at a minimum of either kind."
metric = "grad_norm"  # loss, grad_norm, x, y, distance_to_global, val_loss, val_accuracy, ...
at = "final"          # a step number, start, final, or min / max / mean / any / all / jitter
below = 1e-4          # also above, at_most, at_least; compare runs with than_run / than_at
'''


DEFAULT_STEM = "my-scenario"


def register(sub) -> None:
    parser = sub.add_parser("new", help="write a commented starter scenario NAME.toml")
    parser.add_argument("name", metavar="NAME", nargs="?",
                        help=f"the new file (NAME.toml; a path is fine); default {DEFAULT_STEM}.toml, "
                             f"or {DEFAULT_STEM}-2.toml... if taken")
    parser.add_argument("--force", action="store_true", help="replace NAME.toml if it already exists")
    parser.set_defaults(func=run)


def target_path(name: str) -> Path:
    """NAME -> NAME.toml (a name already ending in .toml is kept)."""
    if not name.strip():
        raise UserError("NAME: give a file name for the new scenario, e.g. gdsim new my-lesson")
    path = Path(name)
    return path if path.suffix == ".toml" else path.with_name(path.name + ".toml")


def default_path(folder: Path = Path(".")) -> Path:
    """my-scenario.toml, or the first of my-scenario-2.toml, -3, ... that does not exist."""
    for n in range(1, 10_000):
        path = folder / (f"{DEFAULT_STEM}.toml" if n == 1 else f"{DEFAULT_STEM}-{n}.toml")
        if not path.exists():
            return path
    raise UserError(f"{folder}: {DEFAULT_STEM}.toml to {DEFAULT_STEM}-9999.toml all exist; give a NAME")


def starter_text(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip() or "My scenario"
    title = words[:1].upper() + words[1:]
    title = title.replace("\\", "").replace('"', "'")[:120]
    return TEMPLATE.format(title=title, file=path.name)


def run(args) -> int:
    path = default_path() if args.name is None else target_path(args.name)
    check_writable(path, overwrite=args.force)
    write_text_atomic(path, starter_text(path), overwrite=args.force)
    print(f"wrote {path}; try: gdsim check --verify {path}  (the format: gdsim docs scenarios)", file=sys.stderr)
    return 0
