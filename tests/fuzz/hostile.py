"""Hostile inputs: strings that have broken real systems, and Hypothesis strategies that mix
them with arbitrary text and JSON. Shared by the fuzz tests of every service."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u0000\u0000",
    "\ud800",  # a lone surrogate: valid in a JSON escape, not encodable in UTF-8
    "\udfff\ud800",
    "\ufeff",  # byte order mark
    "\u202etxt.exe",  # right-to-left override
    "\u200b\u200c\u200d",  # zero-width characters
    "e\u0301" * 50,  # combining marks
    "\U0001f600\U0001f469\u200d\U0001f4bb",  # emoji, a ZWJ sequence
    "ﬁ",  # a ligature that NFKC turns into two letters
    "Ⅸ",
    "\r\n\t\x0b\x0c",
    "\x1b[31mred\x1b[0m",
    "' OR '1'='1",
    "'; DROP TABLE audit.log; --",
    "Robert'); DROP TABLE review.tasks;--",
    '" OR ""="',
    "1; SELECT pg_sleep(10)",
    "$1",
    "%s%s%s%n",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "../../../../etc/passwd",
    "%00",
    "%2e%2e%2f",
    "<script>alert(1)</script>",
    "null",
    "NaN",
    "-0",
    "9" * 400,
    "x" * 5000,
    "🙂" * 3000,
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=50),
)
hostile_text = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=300))
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=20,
)


def nested(depth: int) -> str:
    """A JSON document nested `depth` levels deep (as text: Python's encoder would recurse)."""
    return "[" * depth + "]" * depth


def wrongly_typed(value: Any) -> st.SearchStrategy[Any]:
    """Anything but a value of `value`'s JSON type."""
    return json_values.filter(lambda other: type(other) is not type(value))


def segment(text: str) -> str:
    """`text` as one percent-encoded path segment (lone surrogates as their raw bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")
