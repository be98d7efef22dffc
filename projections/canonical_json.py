"""RFC 8785 (JCS) bytes of a snapshot document, by the standard library's C encoder when
that gives the same bytes, else by the ``rfc8785`` package.

``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes what RFC
8785 writes for a document whose

* keys are strings below U+D800 (Python sorts keys by code point, RFC 8785 by UTF-16
  code unit: they differ only above U+FFFF and between U+E000 and U+FFFF),
* strings are valid Unicode (no lone surrogates; both escape ``"``, ``\\`` and the
  control characters alike: ``\\b \\t \\n \\f \\r``, others as ``\\u00xx``),
* numbers are ints, or floats that print the same in ECMAScript's ``Number::toString``
  as in Python's ``repr``: an integral float is written as the integer (ECMAScript writes
  15.0 as ``15``), and a fractional one only between 1e-4 and 1e16 in magnitude (where
  both print the shortest round-trip digits without an exponent).

``jcs`` checks a document against those rules while it copies it (integral floats become
ints), and hands anything else to ``rfc8785``: the bytes never differ from the package's
(tests/unit/test_canonical_json.py compares both on random documents)."""

import json
import math
from typing import Any

import rfc8785

_INTEGRAL = 2.0**53
_LOW, _HIGH = 1e-4, 1e16
_SURROGATES = "\ud800"


class _Unsure(Exception):
    """The standard encoder might not write what RFC 8785 writes for this value."""


def jcs(document: Any) -> bytes:
    """RFC 8785 canonical bytes of ``document``."""
    try:
        plain = _plain(document)
    except _Unsure:
        return rfc8785.dumps(document)
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the package says what to do
        return rfc8785.dumps(document)


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int or kind is float:
        return _number(value)
    if isinstance(value, str):  # a str enum (a cycle's state): its text, as rfc8785 writes
        return str.__str__(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or (key and max(key) >= _SURROGATES):
                raise _Unsure
            out[key] = _plain(item)
        return out
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    raise _Unsure


def _number(value: float) -> float:
    if type(value) is int:
        if abs(value) >= _INTEGRAL:  # outside the I-JSON range: the package decides
            raise _Unsure
        return value
    if not math.isfinite(value):
        raise _Unsure
    if value.is_integer():
        if abs(value) < _INTEGRAL:
            return int(value)
        raise _Unsure  # ECMAScript pads the shortest digits with zeros
    if _LOW <= abs(value) < _HIGH:
        return value
    raise _Unsure
