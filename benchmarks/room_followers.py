"""A room broker with N stand-in followers, in a process of its own (as the server's broker is):
bench_app.py --room N joins the presenter's app to it and measures whether being followed costs
the presenter anything.

    python benchmarks/room_followers.py N

Prints one JSON line {"socket": path, "token": the presenter's token}, then serves until its
standard input closes; then prints {"follows": messages the followers received, "bytes": their size}.
Each follower says hello, reports that it follows, and reads everything the broker sends it (a
real follower's app opens the scene and computes it in its own process, on its own CPU share).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def follower(socket: str, token: str, counts: dict) -> None:
    reader, writer = await asyncio.open_unix_connection(socket, limit=2**22)
    writer.write(json.dumps({"type": "hello", "token": token}).encode() + b"\n")
    writer.write(json.dumps({"type": "status", "scenario": None, "title": "", "step": 0, "following": True,
                             "tab": ""}).encode() + b"\n")
    while line := await reader.readline():
        if b'"type":"follow"' in line:
            counts["follows"] += 1
            counts["bytes"] += len(line)


async def main(n: int) -> None:
    from gdsim.serve.room import Room

    directory = Path(tempfile.mkdtemp(prefix="gdsim-bench-room-"))
    room = Room(directory)
    await room.start()
    counts = {"follows": 0, "bytes": 0}
    tasks = [asyncio.create_task(follower(str(room.socket_path), room.add_member(f"f{i}", "participant"), counts))
             for i in range(n)]
    print(json.dumps({"socket": str(room.socket_path), "token": room.add_member("presenter", "presenter")}),
          flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes our stdin
    print(json.dumps(counts), flush=True)
    for task in tasks:
        task.cancel()
    await room.stop()
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
