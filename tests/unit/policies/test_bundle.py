"""The shipped bundle loads; its digest and the input digest are canonical and sensitive."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from policies.bundle import (
    SHIPPED_BUNDLE_DIR,
    PolicyBundle,
    canonical_json,
    input_digest,
    load_bundle,
    load_shipped_bundle,
)


def test_the_shipped_bundle_separates_modules_tests_and_data(shipped: PolicyBundle) -> None:
    assert set(shipped.modules) == {"guardrails.rego"}
    assert set(shipped.tests) == {"guardrails_test.rego"}
    assert shipped.data["risk_appetite"] == {
        "investment": 4,
        "operational": 3,
        "conduct": 2,
        "compliance": 3,
        "credit": 3,
        "market": 3,
    }
    # Job roles are the directory's, passed in each input: the data names nobody.
    assert "job_roles" not in shipped.data
    assert shipped.modules["guardrails.rego"] == (
        (SHIPPED_BUNDLE_DIR / "guardrails.rego").read_text(encoding="utf-8")
    )


def test_the_digest_is_sha256_of_the_canonical_json_of_modules_and_data(
    shipped: PolicyBundle,
) -> None:
    canonical = json.dumps(
        {"data": shipped.data, "modules": shipped.modules},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert shipped.digest() == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert len(shipped.digest()) == 64


def test_the_digest_is_stable(shipped: PolicyBundle) -> None:
    again = load_shipped_bundle()
    assert again.digest() == shipped.digest()
    reordered = PolicyBundle(
        modules=dict(reversed(list(shipped.modules.items()))),
        data=json.loads(json.dumps(shipped.data, sort_keys=True)),
    )
    assert reordered.digest() == shipped.digest()


def test_the_digest_ignores_test_modules(shipped: PolicyBundle) -> None:
    proposed = PolicyBundle(modules=shipped.modules, data=shipped.data)  # as over the API
    assert proposed.digest() == shipped.digest()


def test_one_character_changes_the_digest(shipped: PolicyBundle) -> None:
    text = shipped.modules["guardrails.rego"]
    i = text.index("package okrgov.guardrails") + len("package")
    one_char = text[:i] + "\t" + text[i + 1 :]
    assert len(one_char) == len(text)
    assert PolicyBundle({"guardrails.rego": one_char}, shipped.data).digest() != shipped.digest()

    data = json.loads(json.dumps(shipped.data))
    data["risk_appetite"]["investment"] = 3
    assert PolicyBundle(shipped.modules, data).digest() != shipped.digest()

    renamed = {"guardrail.rego": text}
    assert PolicyBundle(renamed, shipped.data).digest() != shipped.digest()


def test_module_boundaries_are_part_of_the_digest() -> None:
    one = PolicyBundle({"a.rego": "xy", "b.rego": "z"}, {})
    other = PolicyBundle({"a.rego": "x", "b.rego": "yz"}, {})
    assert one.digest() != other.digest()


def test_input_digest_is_canonical_and_sensitive() -> None:
    doc = {"action": "key_result.add", "actor": {"id": "tom", "roles": ["member"]}, "x": 1.5}
    same = {"x": 1.5, "actor": {"roles": ["member"], "id": "tom"}, "action": "key_result.add"}
    assert input_digest(doc) == input_digest(same)
    assert input_digest(doc) == hashlib.sha256(canonical_json(doc).encode()).hexdigest()
    assert input_digest({**doc, "action": "key_result.adx"}) != input_digest(doc)
    assert input_digest({**doc, "x": False}) != input_digest({**doc, "x": 0})


def test_load_bundle_reads_any_directory(tmp_path: Path) -> None:
    (tmp_path / "a.rego").write_text("package a\n", encoding="utf-8")
    (tmp_path / "a_test.rego").write_text("package a_test\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    bundle = load_bundle(tmp_path)
    assert (bundle.modules, bundle.tests, bundle.data) == (
        {"a.rego": "package a\n"},
        {"a_test.rego": "package a_test\n"},
        {},
    )
