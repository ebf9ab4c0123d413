"""What is pasted into a search box, as the Lucene query the full-text index is asked."""

from __future__ import annotations

import pytest

from cmdb_server.search_terms import canonical_address, canonical_mac, full_text_query
from schema import load_schema
from schema.constraints import fulltext_spec


@pytest.mark.parametrize("pasted", ["52:54:00:AB:cd:ef", "52-54-00-ab-cd-ef", "5254.00ab.cdef", " 52:54:00:ab:cd:ef "])
def test_a_mac_in_any_usual_spelling_is_one_phrase_of_its_canonical_form(pasted: str) -> None:
    assert canonical_mac(pasted) == "52:54:00:ab:cd:ef"
    assert full_text_query(pasted) == '"52:54:00:ab:cd:ef"'


def test_twelve_hex_digits_may_be_a_mac_or_a_serial() -> None:
    assert full_text_query("525400abcdef") == '"52:54:00:ab:cd:ef" OR 525400abcdef'
    assert full_text_query("123456789012") == "123456789012"  # digits only: a serial, not a MAC


@pytest.mark.parametrize(
    ("pasted", "query"),
    [
        ("10.0.0.5", '"10.0.0.5"'),
        ("10.0.0.5/24", '"10.0.0.5"'),
        ("fe80:0::1%eth0", '"fe80::1"'),
        ("2001:DB8::1/64", '"2001:db8::1"'),
    ],
)
def test_an_address_with_or_without_its_prefix_is_its_canonical_text(pasted: str, query: str) -> None:
    assert full_text_query(pasted) == query


def test_words_and_lucene_syntax_are_left_as_written() -> None:
    assert full_text_query("orders AND online") == "orders AND online"
    assert full_text_query("web*") == "web*"
    assert full_text_query('"web shop"') == '"web shop"'
    assert full_text_query("hostname:web1", frozenset({"hostname"})) == "hostname:web1"


def test_a_single_word_with_lucene_operators_is_a_phrase_not_a_syntax_error() -> None:
    assert full_text_query("C:\\temp") == '"C:\\\\temp"'
    assert full_text_query("srv/01") == '"srv/01"'
    assert full_text_query("AND") == '"AND"'
    assert full_text_query('a"b:c') == '"a\\"b:c"'
    assert canonical_address("web1.example.com") is None
    assert canonical_address("1.2") is None


def test_the_index_covers_names_descriptions_and_every_identifying_string() -> None:
    properties = fulltext_spec(load_schema()).properties
    assert properties[:2] == ("name", "description")
    for key in ("hostname", "fqdn", "serial", "machine_id", "hardware_uuid", "mac", "address", "package_name"):
        assert key in properties, key
    assert "cpu_cores" not in properties  # not a string, not identifying
