"""gdsim.serve.child: the per-session limits hold, and gdsim's heavy imports still fit under them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gdsim.serve.child import parse
from gdsim.serve.pty_process import ResourceLimits, source_root, wrap_command

ENV = {"PYTHONPATH": source_root(), "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}


def run_limited(code: str, limits: ResourceLimits, cwd) -> subprocess.CompletedProcess:
    argv = wrap_command([sys.executable, "-c", code], limits, controlling_tty=False)
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=60)


def test_numpy_and_textual_start_under_the_default_memory_limit(tmp_path):
    limits = ResourceLimits()  # 1 GiB of address space
    code = (
        "import numpy, textual.app, plotext\n"
        "a = numpy.ones((300, 300)); print('sum', (a @ a).sum())"
    )
    result = run_limited(code, limits, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sum 27000000.0" in result.stdout


def test_memory_limit_stops_a_big_allocation(tmp_path):
    code = "try:\n  b = bytearray(2 * 1024**3)\nexcept MemoryError:\n  print('refused')"
    result = run_limited(code, ResourceLimits(memory_bytes=512 * 2**20), tmp_path)
    assert result.stdout.strip() == "refused"


def test_files_cannot_be_written(tmp_path):
    code = f"with open({str(tmp_path / 'out.txt')!r}, 'w') as f: f.write('x' * 10)"
    result = run_limited(code, ResourceLimits(), tmp_path)
    assert result.returncode != 0
    assert "File too large" in result.stderr
    assert (tmp_path / "out.txt").read_text() == ""


def test_wrapper_arguments():
    limits, ctty, command = parse(["--memory", "100", "--cpu", "5", "--ctty", "--", "prog", "--memory"])
    assert limits == {"memory": 100, "cpu": 5, "file_size": None, "nice": None}
    assert ctty and command == ["prog", "--memory"]
    with pytest.raises(SystemExit):
        parse(["--memory", "100", "prog"])  # no "--"
    assert ResourceLimits(memory_bytes=None, cpu_seconds=None, file_size_bytes=None, nice=None).child_args() == []


def test_child_runs_below_the_server_priority(tmp_path):
    result = run_limited("import os; print(os.nice(0))", ResourceLimits(nice=5), tmp_path)
    assert int(result.stdout) == os.nice(0) + 5


def test_precompile_writes_bytecode_once_and_tolerates_read_only(tmp_path):
    """The server compiles the sources so served apps (which never write files) do not each compile them."""
    from gdsim.serve.pty_process import precompile

    package = tmp_path / "gdsim"
    package.mkdir()
    (package / "__init__.py").write_text("X = 1\n")
    (package / "mod.py").write_text("def f():\n    return 2\n")
    assert precompile(str(tmp_path))
    compiled = sorted(p.name.split(".")[0] for p in (package / "__pycache__").glob("*.pyc"))
    assert compiled == ["__init__", "mod"]
    (package / "bad.py").write_text("def (:\n")
    assert not precompile(str(tmp_path))  # a file that does not compile is reported, not raised
    assert not precompile(str(tmp_path / "missing"))
