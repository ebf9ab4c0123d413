"""One full inventory of this machine: cmdb-agent vs FusionInventory (GLPI Agent's predecessor).

    python -m bench.agent_vs_fusion [--runs 5]

Needs Debian's fusioninventory-agent and time packages (bench/run installs them). Runs,
interleaved, `fusioninventory-agent --local=DIR` and `cmdb-agent collect`, each under
`/usr/bin/time -v`, and prints the median CPU seconds, wall seconds and peak RSS as
JSON lines, with the ratios.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.figures import emit

BIN = Path(sys.executable).parent


def measure(command: list[str]) -> dict[str, float]:
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False)
    report = done.stderr

    def number(label: str) -> float:
        match = re.search(rf"{re.escape(label)}: ([0-9.:]+)", report)
        if not match:
            raise RuntimeError(f"no {label!r} in /usr/bin/time output:\n{report[-2000:]}")
        value = match.group(1)
        if ":" in value:  # wall clock as [h:]m:ss
            parts = [float(p) for p in value.split(":")]
            return float(sum(p * 60**i for i, p in enumerate(reversed(parts))))
        return float(value)

    return {
        "cpu": number("User time (seconds)") + number("System time (seconds)"),
        "wall": number("Elapsed (wall clock) time (h:mm:ss or m:ss)"),
        "rss_mib": number("Maximum resident set size (kbytes)") / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("fusioninventory-agent") or not Path("/usr/bin/time").exists():
        raise SystemExit("install fusioninventory-agent and time first (apt-get install fusioninventory-agent time)")
    out = Path(tempfile.mkdtemp(prefix="cmdb-bench-fusion-"))
    fusion = ["fusioninventory-agent", f"--local={out}", "--no-task=deploy,wakeonlan,netdiscovery,netinventory"]
    ours = [str(BIN / "cmdb-agent"), "collect"]
    samples: dict[str, list[dict[str, float]]] = {"fusioninventory-agent": [], "cmdb-agent collect": []}
    for _ in range(args.runs):
        samples["fusioninventory-agent"].append(measure(fusion))
        samples["cmdb-agent collect"].append(measure(ours))
    medians = {
        name: {key: statistics.median(s[key] for s in runs) for key in ("cpu", "wall", "rss_mib")}
        for name, runs in samples.items()
    }
    for name, values in medians.items():
        for key, unit in (("cpu", "CPU s"), ("wall", "wall s"), ("rss_mib", "MiB peak RSS")):
            emit(f"agent, one inventory: {name}", values[key], unit)
    theirs, mine = medians["fusioninventory-agent"], medians["cmdb-agent collect"]
    emit("agent CPU: cmdb-agent / FusionInventory", mine["cpu"] / theirs["cpu"], "x", ("<=", 1 / 3))
    emit("agent peak RSS: cmdb-agent / FusionInventory", mine["rss_mib"] / theirs["rss_mib"], "x", ("<=", 0.7))
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
