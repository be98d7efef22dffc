"""The policy desk's forms as the API's request bodies: a proposal (one textarea per Rego
module and one for ``data.json``, or files uploaded in the same form) becomes the body of
``POST /v1/policies`` (``NewPolicy``), an approval the body of ``POST
/v1/policies/{id}/approve`` (``Approval``), a what-if the body of ``POST
/v1/policies/{id}/simulate`` (``Simulation``). Each is validated by that schema
(``feedback.parsed``), so the console refuses what the API refuses, with the same words.

And the what-if report as the desk shows it: one row per key result and rule, in the
columns newly denied, newly warned, no longer denied or warned."""

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.datastructures import FormData, UploadFile

from events.errors import NotFound
from projections.queries import OkrQueries
from services.api.schemas.policies import Approval, NewPolicy
from services.console.feedback import parsed

#: A module's textarea is the form field ``module:<file name>``.
MODULE_FIELD = "module:"


@dataclass
class ProposalForm:
    """What the person wrote (kept to show the form again after a refusal)."""

    description: str = ""
    modules: dict[str, str] = field(default_factory=dict)
    data: str = "{}"
    new_module_name: str = ""
    new_module_text: str = ""

    @classmethod
    def start_from(cls, policy: dict[str, Any]) -> "ProposalForm":
        """The form for a new version, filled with ``policy``'s modules, tests and data."""
        modules = {**policy.get("tests", {}), **policy["modules"]}
        return cls(
            modules=dict(sorted(modules.items())),
            data=json.dumps(policy["data"], indent=2, sort_keys=True, ensure_ascii=False),
        )


async def read_proposal(form: FormData, base: ProposalForm) -> ProposalForm:
    """The textareas (without any, ``base``: the active version's), then the uploaded
    files over them: a ``.rego`` file is the module of its name, a ``.json`` file the
    data."""
    found = ProposalForm(
        description=_text(form, "description"),
        modules={
            key[len(MODULE_FIELD) :]: _text(form, key)
            for key in form
            if key.startswith(MODULE_FIELD)
        },
        data=_text(form, "data") or "{}",
        new_module_name=_text(form, "new_module_name").strip(),
        new_module_text=_text(form, "new_module_text"),
    )
    if not any(key.startswith(MODULE_FIELD) for key in form):
        found.modules, found.data = dict(base.modules), base.data
    for upload in form.getlist("files"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        text = (await upload.read()).decode("utf-8", errors="replace")
        name = upload.filename.rsplit("/", 1)[-1]
        if name.endswith(".json"):
            found.data = text
        else:
            found.modules[name] = text
    return found


def proposal_body(form: ProposalForm) -> NewPolicy:
    """The ``POST /v1/policies`` body: an emptied textarea drops its module."""
    modules = {name: text for name, text in form.modules.items() if text.strip()}
    if form.new_module_name or form.new_module_text.strip():
        modules[form.new_module_name] = form.new_module_text
    try:
        data = json.loads(form.data)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_syntax",
                    "loc": ("body", "data"),
                    "msg": f"data.json is not valid JSON: {exc.msg} at line {exc.lineno}",
                    "input": None,
                }
            ]
        ) from None
    given = {"modules": modules, "data": data, "description": form.description}
    return parsed(NewPolicy, given)


def approval_body(form: FormData) -> Approval:
    """The ``POST /v1/policies/{id}/approve`` body; the box ticked is ``true``."""
    return parsed(
        Approval,
        {
            "acknowledge_divergence": form.get("acknowledge_divergence") == "true",
            "reason": _text(form, "reason").strip(),
        },
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


#: The what-if's columns: (heading, the change lists that fill it).
WHATIF_COLUMNS = (
    ("Newly denied", ("newly_denied",)),
    ("Newly warned", ("newly_warned",)),
    ("No longer denied or warned", ("no_longer_denied", "no_longer_warned")),
)


def whatif_columns(report: dict[str, Any], okr: OkrQueries) -> list[dict[str, Any]]:
    """The report's cycle changes as rows per column: key result, its owner, the rule."""
    owners: dict[str, str | None] = {}
    for change in report["changes"]:
        ident = change["key_result_id"]
        try:
            owners[ident] = okr.key_result(ident)["owner"]
        except NotFound:
            owners[ident] = None
    columns = []
    for heading, kinds in WHATIF_COLUMNS:
        rows = [
            {
                "key_result_id": change["key_result_id"],
                "title": change["title"],
                "owner": owners[change["key_result_id"]],
                "rule": rule,
                "was": "denied" if kind.endswith("denied") else "warned",
            }
            for change in report["changes"]
            for kind in kinds
            for rule in change[kind]
        ]
        columns.append({"heading": heading, "rows": rows})
    return columns
