"""Every command ends quietly when its reader stops reading (``| head``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema.console import CLOSED_PIPE

PRINTS_A_LOT = """
import sys
from schema import console

def main():
    for n in range(200_000):
        print(f"line {n} " + "x" * 80)
    return 0

sys.exit(console.run(main))
"""


def test_a_closed_pipe_ends_the_command_without_a_traceback() -> None:
    writer = subprocess.Popen([sys.executable, "-c", PRINTS_A_LOT], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdout is not None
    assert writer.stderr is not None
    first = writer.stdout.readline()
    writer.stdout.close()  # what `| head -1` does once it has its line
    status = writer.wait(timeout=60)
    assert first.startswith(b"line 0 ")
    assert writer.stderr.read() == b""
    assert status == CLOSED_PIPE


def test_the_agent_ends_quietly_when_its_reader_stops_reading() -> None:
    agent = Path(sys.executable).parent / "cmdb-agent"
    writer = subprocess.Popen([str(agent), "collect", "--pretty"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdout is not None
    assert writer.stderr is not None
    assert writer.stdout.readline() == b"{\n"
    writer.stdout.close()
    status = writer.wait(timeout=120)
    assert b"Traceback" not in writer.stderr.read()
    assert status in (0, CLOSED_PIPE)  # 0 when all of it fitted in the pipe before it closed
