"""A guardrail policy bundle (Rego modules plus their data) and its digests.

The digest identifies a bundle in every decision record, so it is defined precisely and
depends on nothing but the bundle's content:

    SHA-256 (hex) of the UTF-8 bytes of the canonical JSON of
    {"data": <data>, "modules": {<file name>: <Rego text>, ...}}

where canonical JSON means keys sorted at every level, no whitespace (separators ``,`` and
``:``), non-ASCII characters written as themselves (not ``\\u`` escapes), and no NaN or
infinity. Test modules (``*_test.rego``) are carried by a bundle loaded from a directory
but are not part of its digest: they do not change any decision, and a version proposed
over the API (modules and data only) must have the digest of the same files on disk.

``input_digest`` applies the same canonical JSON to an input document; the embedded
engine evaluates exactly those bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The shipped bundle: ``policies/bundle/``.
SHIPPED_BUNDLE_DIR = Path(__file__).resolve().parent / "bundle"

#: The data document's file name inside a bundle directory.
DATA_FILE = "data.json"

#: Rego files whose name ends so are test modules.
TEST_SUFFIX = "_test.rego"


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a JSON-compatible value (see the module docstring).

    Not RFC 8785, the snapshots' form (``projections.snapshot.jcs``): numbers keep
    Python's spelling (``10.0`` stays ``10.0``, JCS writes ``10``) and integers of any
    size are written (JCS refuses those beyond 2**53). The bundle digests of every policy
    version and the input digests of every decision are over these bytes, so the policies
    keep them; the two agree on a bundle (text only) but not on inputs with floats."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def input_digest(doc: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of an input document."""
    return sha256_hex(canonical_json(doc))


@dataclass(frozen=True)
class PolicyBundle:
    """Rego modules (file name -> text) and the data document they read.

    ``tests`` holds the ``*_test.rego`` modules of a bundle loaded from a directory; they
    are run by ``policies.testing`` and never loaded for decisions.
    """

    modules: dict[str, str]
    data: dict[str, Any]
    tests: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """SHA-256 hex over the modules and the data (tests excluded)."""
        return sha256_hex(canonical_json({"data": self.data, "modules": self.modules}))


def load_bundle(directory: str | Path) -> PolicyBundle:
    """Read a bundle directory: every ``*.rego`` (``*_test.rego`` as tests) and
    ``data.json`` (an empty data document when absent)."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"no policy bundle directory at {root}")
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    for path in sorted(root.glob("*.rego")):
        target = tests if path.name.endswith(TEST_SUFFIX) else modules
        target[path.name] = path.read_text(encoding="utf-8")
    data_path = root / DATA_FILE
    data: dict[str, Any] = {}
    if data_path.exists():
        loaded = json.loads(data_path.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"{data_path} must hold a JSON object")
        data = loaded
    return PolicyBundle(modules=modules, data=data, tests=tests)


def load_shipped_bundle() -> PolicyBundle:
    """The guardrail bundle shipped with okrgov (``policies/bundle/``)."""
    return load_bundle(SHIPPED_BUNDLE_DIR)
