"""compile_bundle refuses a broken bundle naming the module and line; verdict types."""

from __future__ import annotations

import pytest

from policies.bundle import PolicyBundle
from policies.engine import (
    PolicyCompileError,
    Verdict,
    Violation,
    compile_bundle,
    parse_regorus_error,
)

# regorus's error text for a syntax error, exactly as add_policy raised it (the stack
# backtrace is added when RUST_BACKTRACE is set).
REGORUS_SYNTAX_ERROR = (
    "\n--> b.rego:5:1\n  |\n5 | }\n  | ^\nerror: expecting expression\n\n"
    "Stack backtrace:\n   0: <unknown>\n   1: <unknown>\n"
)
# ... and for a call to a function that does not exist, from the RVM compiler.
REGORUS_RVM_ERROR = (
    "\n--> b.rego:4:3\n  |\n4 |   foo(1)\n  |   ^\nerror: Unknown function: 'foo'\n\n"
    "Caused by:\n    Unknown function: 'foo'\n\n"
)

MINIMAL = """package okrgov.guardrails

deny contains {"rule": "always", "message": "no"} if input.block == true
"""


def with_module(shipped: PolicyBundle, name: str, text: str) -> PolicyBundle:
    return PolicyBundle(modules={**shipped.modules, name: text}, data=shipped.data)


def insert_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines.insert(line - 1, new + "\n")
    return "".join(lines)


def test_the_shipped_bundle_compiles(shipped: PolicyBundle) -> None:
    assert "data.okrgov.guardrails" in compile_bundle(shipped).get_packages()
    assert compile_bundle(shipped, include_tests=True).get_packages() == [
        "data.okrgov.guardrails",
        "data.okrgov.guardrails_test",
    ]


def test_parse_regorus_error_text() -> None:
    assert parse_regorus_error(REGORUS_SYNTAX_ERROR) == (("b.rego", 5, 1), "expecting expression")
    assert parse_regorus_error(REGORUS_RVM_ERROR) == (("b.rego", 4, 3), "Unknown function: 'foo'")
    assert parse_regorus_error("something else went wrong") == (None, "something else went wrong")


def test_a_syntax_error_names_the_module_and_line(shipped: PolicyBundle) -> None:
    text = insert_line(shipped.modules["guardrails.rego"], 40, "broken := [1, 2,, 3]")
    with pytest.raises(PolicyCompileError) as caught:
        compile_bundle(with_module(shipped, "guardrails.rego", text))
    error = caught.value
    assert error.module == "guardrails.rego"
    assert error.line == 40
    assert error.message == "expecting expression"
    assert str(error) == "guardrails.rego:40:17: expecting expression"


def test_a_syntax_error_in_a_second_module_names_that_module(shipped: PolicyBundle) -> None:
    extra = "package okrgov.extra\n\nimport rego.v1\n\nx if {\n  input.a ==\n}\n"
    with pytest.raises(PolicyCompileError) as caught:
        compile_bundle(with_module(shipped, "extra.rego", extra))
    assert (caught.value.module, caught.value.line) == ("extra.rego", 7)
    assert caught.value.message == "expecting expression"


def test_rego_v0_syntax_is_refused_with_its_line(shipped: PolicyBundle) -> None:
    v0 = "package okrgov.extra\n\nallow {\n  true\n}\n"
    with pytest.raises(PolicyCompileError) as caught:
        compile_bundle(with_module(shipped, "old.rego", v0))
    assert (caught.value.module, caught.value.line) == ("old.rego", 3)
    assert "`if` keyword is required" in caught.value.message


def test_an_unsafe_variable_names_the_module_and_line(shipped: PolicyBundle) -> None:
    unsafe = "package okrgov.extra\n\nx if {\n  y > 1\n}\n"
    with pytest.raises(PolicyCompileError) as caught:
        compile_bundle(with_module(shipped, "unsafe.rego", unsafe))
    assert (caught.value.module, caught.value.line) == ("unsafe.rego", 4)
    assert "unsafe" in caught.value.message


def test_a_call_to_a_missing_function_names_the_module_and_line() -> None:
    # The interpreter would only notice when a command reached the call.
    text = MINIMAL + '\ndeny contains {"rule": "typo", "message": m} if {\n'
    text += '  input.other == true\n  m := sprintf_typo("%v", [1])\n}\n'
    with pytest.raises(PolicyCompileError) as caught:
        compile_bundle(PolicyBundle(modules={"g.rego": text}, data={}))
    assert (caught.value.module, caught.value.line) == ("g.rego", 7)
    assert "sprintf_typo" in caught.value.message


def test_a_bundle_without_the_guardrails_package_is_refused() -> None:
    renamed = MINIMAL.replace("okrgov.guardrails", "okrgov.guardrail")
    with pytest.raises(PolicyCompileError, match=r"package okrgov\.guardrails"):
        compile_bundle(PolicyBundle(modules={"g.rego": renamed}, data={}))


def test_a_bundle_without_a_deny_rule_is_refused() -> None:
    text = MINIMAL.replace("deny contains", "denied contains")
    with pytest.raises(PolicyCompileError, match="no `deny` rule"):
        compile_bundle(PolicyBundle(modules={"g.rego": text}, data={}))


def test_a_bundle_without_modules_or_with_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(PolicyCompileError, match="no Rego module"):
        compile_bundle(PolicyBundle(modules={}, data={}))
    with pytest.raises(PolicyCompileError) as caught:
        compile_bundle(PolicyBundle(modules={"g.rego": MINIMAL}, data=[1, 2]))  # type: ignore[arg-type]
    assert caught.value.module == "data.json"


def test_a_minimal_bundle_without_warn_rules_compiles() -> None:
    compile_bundle(PolicyBundle(modules={"g.rego": MINIMAL}, data={}))


def test_violations_are_sorted_and_deduplicated() -> None:
    verdict = Verdict.of(
        [
            {"rule": "b", "message": "2"},
            {"rule": "a", "message": "9"},
            {"rule": "b", "message": "1"},
            {"rule": "a", "message": "9"},
        ],
        None,
    )
    assert verdict.deny == [Violation("a", "9"), Violation("b", "1"), Violation("b", "2")]
    assert verdict.warn == []
    assert not verdict.allowed
