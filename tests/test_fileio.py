"""Files gdsim writes get the permissions the umask gives any new file (mkstemp's 0600 was kept before)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gdsim.cli import main
from gdsim.fileio import current_umask, write_text_atomic

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def umask():
    """Set the umask for one test, and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)

    def set_(mask: int) -> None:
        os.umask(mask)

    yield set_
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def as_open_makes(tmp_path: Path) -> int:
    """The mode open() gives a new file under the current umask: the oracle."""
    probe = tmp_path / "probe-by-open"
    probe.write_text("x")
    try:
        return mode(probe)
    finally:
        probe.unlink()


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027])
def test_an_atomic_write_has_the_mode_open_would_give(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    path = tmp_path / "out.txt"
    write_text_atomic(path, "hello\n")
    assert path.read_text() == "hello\n"
    assert mode(path) == as_open_makes(tmp_path) == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temp file left


def test_a_replaced_file_keeps_its_own_mode(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "kept.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_text_atomic(path, "new", overwrite=True)
    assert path.read_text() == "new" and mode(path) == 0o640


@pytest.mark.parametrize("argv,name", [
    (["new", "{dir}/lesson"], "lesson.toml"),
    (["schema", "-o", "{dir}/scenario.schema.json"], "scenario.schema.json"),
    (["run", str(DATA / "noisy.toml"), "--steps", "3", "--format", "jsonl", "-o", "{dir}/runs.jsonl"], "runs.jsonl"),
    (["run", str(DATA / "noisy.toml"), "--steps", "3", "--format", "csv", "-o", "{dir}/runs.csv"], "runs.csv"),
])
def test_every_command_that_writes_respects_the_umask(tmp_path, umask, capsys, argv, name):
    for mask in (0o022, 0o007):
        umask(mask)
        folder = tmp_path / f"m{mask:o}"
        folder.mkdir()
        assert main([a.replace("{dir}", str(folder)) for a in argv]) == 0
        capsys.readouterr()
        assert mode(folder / name) == 0o666 & ~mask, f"{argv[0]} under umask {mask:o}"
