"""Inventories from the agents organisations already run: FusionInventory and OCS Inventory.

They speak the OCS protocol (one compressed XML document per POST: PROLOG, then INVENTORY)
and describe a host in their own XML; this package reads that XML safely, maps it to the
report contract (schema/report.py) and answers as an OCS/GLPI server does, so the agents
run unmodified. The report then takes the one ingest path as an ``inventory`` source.
"""
