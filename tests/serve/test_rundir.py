"""A server killed with SIGKILL leaves its run directory behind; the next start removes it, and
nothing that is not surely a dead server's own directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from gdsim.serve import rundir
from gdsim.serve.pty_process import source_root
from tests.serve.conftest import STANDIN

SERVER = """
import sys
from pathlib import Path
from gdsim.serve.ssh import SSHServerConfig, run_ssh_server
config = SSHServerConfig(port=0, host_key=Path(sys.argv[1]), command=sys.argv[2:])
run_ssh_server(config)
"""


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_servers_directory_is_removed_at_the_next_start(tmp_path, monkeypatch):
    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=source_root())
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path / "hk"), *STANDIN],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert "listening" in server.stdout.readline()
        left = list(tmp_path.glob(rundir.PREFIX + "*"))
        assert len(left) == 1 and (left[0] / "cpu-share").exists()
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    assert left[0].exists()  # SIGKILL: no chance to clean up
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mine = rundir.create()  # what the next server's start does
    assert not left[0].exists()
    assert mine.exists() and list(tmp_path.glob(rundir.PREFIX + "*")) == [mine]


def test_only_surely_stale_directories_are_removed(tmp_path):
    live = rundir.create(str(tmp_path))  # this process runs
    dead = tmp_path / (rundir.PREFIX + "dead")
    dead.mkdir()
    (dead / rundir.OWNER).write_text(f"{dead_pid()} 1\n")
    (dead / "cpu-share").write_text("0.5\n")
    reused = tmp_path / (rundir.PREFIX + "reused")  # our pid, another start time: a reused pid
    reused.mkdir()
    (reused / rundir.OWNER).write_text(f"{os.getpid()} 1\n")
    unknown = tmp_path / (rundir.PREFIX + "no-owner-file")  # another version, or being created
    unknown.mkdir()
    target = tmp_path / "elsewhere"  # a link to a dead server's directory is not ours to remove
    target.mkdir()
    (target / rundir.OWNER).write_text(f"{dead_pid()} 1\n")
    link = tmp_path / (rundir.PREFIX + "link")
    link.symlink_to(target)
    other = tmp_path / "not-gdsim"
    other.mkdir()
    (other / rundir.OWNER).write_text(f"{dead_pid()} 1\n")

    removed = rundir.remove_stale(str(tmp_path))
    assert sorted(removed) == sorted([dead, reused])
    assert live.exists() and unknown.exists() and link.is_symlink() and target.exists() and other.exists()
    assert (target / rundir.OWNER).exists()
    assert oct(Path(live).stat().st_mode & 0o777) == "0o700"  # private
