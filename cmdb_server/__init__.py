"""The CMDB server: ingest, CI queries, ITSM records, impact analysis, auth.

Importing this package is cheap on purpose: the engineer's CLI (``cmdb``) lives in
``cmdb_server.cli`` and must run where only the base install (httpx) is present.
"""
