"""Many read-only commands over one SSH channel: one shell script, outputs split back by markers.

One channel and one shell instead of one per command: a round trip and a login shell each
cost more than most of the commands themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKER = "@@cmdb-discover@@"
STATUS = MARKER + "?"  # the line after a command's output: its exit status

# The commands that can block (a name lookup, a stale NFS mount, an rpm database lock) run under
# `timeout`; the others read local files and run directly in the batch's shell, because a
# `timeout` and a shell per command doubled the batch's cost on the target.
MAY_BLOCK = frozenset({"fqdn", "df", "rpm"})


@dataclass
class CommandResult:
    """What one command on the session gave (discovery/ssh/session.py)."""

    exit_status: int
    stdout: str


@dataclass(frozen=True)
class Answer:
    """One command's output and exit status (None when the batch was cut before it ended)."""

    text: str
    status: int | None

    @property
    def ok(self) -> bool:
        return self.status == 0


def batch_script(commands: dict[str, str], timeout: float, may_block: frozenset[str] = MAY_BLOCK) -> str:
    """One shell script for all commands.

    Each command's output sits between a marker naming it and a line with its exit status;
    those that may block run under ``timeout`` in a shell of their own.
    """
    seconds = max(1, int(timeout))
    parts = []
    for name, command in commands.items():
        # The newline before each marker ends an output that has none of its own.
        parts.append(f"printf '\\n%s\\n' '{MARKER} {name}'")
        if name in may_block:
            quoted = command.replace("'", "'\\''")
            parts.append(f"timeout {seconds} sh -c '{quoted}' 2>/dev/null")
        else:
            parts.append(f"{{ {command}\n}} 2>/dev/null")
        parts.append(f"printf '\\n%s %s\\n' '{STATUS}' \"$?\"")
    return "\n".join(parts) + "\n"


def split_batch(output: str) -> dict[str, Answer]:
    """The batch's output back into one answer per command (pure)."""
    answers: dict[str, Answer] = {}
    name: str | None = None
    lines: list[str] = []
    for line in output.splitlines(keepends=True):
        if line.startswith(MARKER + " "):
            name, lines = line[len(MARKER) + 1 :].strip(), []
        elif line.startswith(STATUS + " ") and name is not None:
            status = line[len(STATUS) + 1 :].strip()
            # The newline the script put before the status line.
            answers[name] = Answer("".join(lines)[:-1], int(status) if status.isdigit() else None)
            name = None
        elif name is not None:
            lines.append(line)
    if name is not None:  # cut short: what came of the last command, with no status
        answers[name] = Answer("".join(lines), None)
    return answers
