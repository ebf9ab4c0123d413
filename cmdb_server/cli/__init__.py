"""Command-line entry points: ``cmdb-server`` (server.py) and ``cmdb`` (engineer.py)."""
