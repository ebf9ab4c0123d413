"""Schemathesis hooks for tests/integration/test_fuzz.py, loaded by ``st run`` (SCHEMATHESIS_HOOKS).

A path parameter is the generated value or, as often, the id of a real CI or record of the
seeded estate (``CMDB_FUZZ_KNOWN_IDS``: a JSON map of parameter name to ids), so that the
answers of things found are checked too, not only the 404s.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

KNOWN: dict[str, list[str]] = json.loads(os.environ.get("CMDB_FUZZ_KNOWN_IDS", "{}"))


@schemathesis.hook
def flatmap_path_parameters(_: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    if not isinstance(path_parameters, dict):  # an operation without path parameters
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *KNOWN[name]]) if name in KNOWN else st.just(value)
            for name, value in path_parameters.items()
        }
    )
