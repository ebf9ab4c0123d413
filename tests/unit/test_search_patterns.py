"""Search patterns (``where=name=a*b?``) become comparisons whose cost cannot explode.

The regular expressions are written for java.util.regex (Cypher's ``=~``); Python's ``re``
reads the same constructs the same way (atomic groups since 3.11), so the results are
checked here against a plain definition of ``*`` and ``?``, on every short pattern and value.
"""

from __future__ import annotations

import itertools
import re

import pytest

from cmdb_server.repositories.cis import AttributeFilter, FilterOp, wildcard_regex


def glob_matches(pattern: str, value: str) -> bool:
    """The meaning of a pattern, by definition: ``*`` any run of characters, ``?`` one."""
    if not pattern:
        return not value
    if pattern[0] == "*":
        return any(glob_matches(pattern[1:], value[i:]) for i in range(len(value) + 1))
    if not value:
        return False
    return (pattern[0] == "?" or pattern[0] == value[0]) and glob_matches(pattern[1:], value[1:])


def strings(alphabet: str, longest: int) -> list[str]:
    return ["".join(p) for n in range(longest + 1) for p in itertools.product(alphabet, repeat=n)]


def test_every_short_pattern_matches_as_defined() -> None:
    values = strings("ab.", 5)
    for pattern in strings("ab.*?", 4):
        regex = re.compile(wildcard_regex(pattern))
        for value in values:
            assert bool(regex.fullmatch(value)) == glob_matches(pattern, value), (pattern, value)


@pytest.mark.parametrize("special", [".", "(", ")", "[", "]", "{", "}", "\\", "+", "|", "^", "$", " ", "\n", "é"])
def test_characters_of_regex_syntax_are_themselves(special: str) -> None:
    regex = re.compile(wildcard_regex(f"a{special}*"))
    assert regex.fullmatch(f"a{special}zz")
    assert not regex.fullmatch("axzz") or special == "?"


def test_a_value_with_a_line_break_matches_like_any_other() -> None:
    assert re.fullmatch(wildcard_regex("first*last"), "first\nsecond\nlast")


def test_common_shapes_need_no_regular_expression() -> None:
    assert AttributeFilter.pattern("name", "web*") == AttributeFilter("name", FilterOp.PREFIX, "web")
    assert AttributeFilter.pattern("name", "*shop") == AttributeFilter("name", FilterOp.SUFFIX, "shop")
    assert AttributeFilter.pattern("name", "*ay*") == AttributeFilter("name", FilterOp.CONTAINS, "ay")
    assert AttributeFilter.pattern("name", "**ay**") == AttributeFilter("name", FilterOp.CONTAINS, "ay")
    assert AttributeFilter.pattern("name", "w?b*").op is FilterOp.WILDCARD
    assert AttributeFilter.pattern("name", "a*b").op is FilterOp.WILDCARD


def test_pieces_between_stars_are_kept_at_their_leftmost_place() -> None:
    """Issue 14's pattern against a near miss and a hit (how long it takes: bench/search_patterns.py)."""
    regex = wildcard_regex("*a*a*a*a*a*a*a*b")
    assert regex.count("(?>") == 7  # every piece but the last is found once, atomically
    assert re.fullmatch(regex, "a" * 60 + "c") is None
    assert re.fullmatch(regex, "a" * 60 + "b")
    assert re.fullmatch(regex, "a" * 6 + "b") is None  # seven a's are needed
