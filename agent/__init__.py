"""The host agent: collects this host's inventory and reports it to the CMDB server.

Installed with the ``agent`` extra only (psutil and httpx): it must never import the
server's dependencies (FastAPI, the Neo4j driver).
"""
