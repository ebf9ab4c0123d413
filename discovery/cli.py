"""``cmdb-discover``: sweep address ranges over SSH and SNMP and report what answers."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cmdb-discover", description="Discover hosts and network devices.")
    parser.add_subparsers(dest="command", required=True).add_parser("version", help="print the version")
    parser.parse_args(argv)
    from importlib.metadata import version

    print(version("graph-cmdb"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
