"""Network devices and SNMP-managed hosts over SNMP v2c/v3 (pysnmp, asyncio).

pysnmp imports pysmi when it is installed (it is a dependency), a MIB compiler that pulls
in jinja2 and requests to compile MIB text at run time: a third of pysnmp's import time,
before the first packet. We never compile a MIB (the parsers read numeric OIDs), so the
package says pysmi is absent, which pysnmp allows for (``pysnmp/smi/compiler.py``). Only
when nothing has imported pysmi yet: a process that uses it keeps it.
"""

import sys

sys.modules.setdefault("pysmi", None)  # type: ignore[arg-type]
