"""``okrgov decisions replay``: every guardrail decision recorded in a period, its input
judged again under the policy version it names, by the embedded engine, OPA's or both,
and compared with what was recorded (``services.application.decision_replay``).

Progress goes to stderr while it runs; then the summary (decisions considered, replayed
and agreeing or differing per engine, inputs and bundles that fail their digest, those
not replayable and why) and one line per decision that differs or was altered, on stdout
(``--json``: one JSON report instead). Exit 0 when every replayed decision agrees; 1 when
one differs or an input or bundle fails its digest; 2 for bad usage (a time that is not
ISO 8601, ``--until`` not after ``--since``, OPA's evaluator missing)."""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Annotated, Any

import typer

from infra.logging import correlated
from policies import opa_golib
from policies.replay import Difference, Replayability
from services.application.decision_replay import (
    BUNDLE_MISMATCH,
    NO_VERSION,
    DecisionReplay,
    ReplayTally,
    replay_decisions,
)
from services.cli.context import configured
from services.cli.options import EngineChoice, timestamp

decisions_app = typer.Typer(
    help="Guardrail decisions: judge the recorded ones again, under their policy versions.",
    no_args_is_help=True,
)

#: Progress is shown every this many decisions.
PROGRESS_EVERY = 500

_WHY = {
    Replayability.NO_INPUT: "no input kept",
    Replayability.ENGINE_ERROR: "engine error at the time",
    NO_VERSION: "no policy version recorded",
}
_TAMPERED = {
    Replayability.INPUT_MISMATCH: "its input no longer matches its recorded digest",
    BUNDLE_MISMATCH: "its policy version's bundle no longer matches the digest it recorded",
}


@decisions_app.command("replay")
def replay(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="ISO 8601; decisions at or after.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601; decisions before.")] = None,
    engine: Annotated[
        EngineChoice, typer.Option(help="Judge again under embedded, opa, or both.")
    ] = EngineChoice.BOTH,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report on stdout.")] = False,
) -> None:
    """Judge every recorded decision again, under the policy version it names.

    Says which now answer differently, and which inputs no longer match their digest.
    Exits 0 all agree; 1 a decision differs or fails its digest; 2 bad usage."""
    start, end = timestamp(since, "--since"), timestamp(until, "--until")
    if start and end and end <= start:
        raise typer.BadParameter("must be later than --since", param_hint="--until")
    engines = engine.engines
    if "opa" in engines and not opa_golib.available():
        typer.echo(f"error: --engine {engine.value}: {opa_golib.INSTALL_HINT}", err=True)
        raise typer.Exit(2)
    platform = configured(ctx).platform()
    try:
        with correlated(None, command="decisions.replay"):
            head = platform.ledger.recorder.max_notification_id() or 0
            typer.echo(f"replaying decisions up to position {head} under {', '.join(engines)}",
                       err=True)  # fmt: skip
            tally = ReplayTally(engines)
            found = list(_noted(replay_decisions(platform.ledger, engines, start, end), tally))
    finally:
        platform.close()
    if as_json:
        typer.echo(json.dumps(_report(tally, found, start, end), indent=2))
    else:
        for line in [*_summary(tally), *_lines(found)]:
            typer.echo(line)
    raise typer.Exit(1 if tally.differences or tally.tampered else 0)


def _noted(findings: Iterable[DecisionReplay], tally: ReplayTally) -> Iterator[DecisionReplay]:
    """Count every finding, show progress, and pass on only those worth a line."""
    for found in findings:
        tally.add(found)
        if tally.considered % PROGRESS_EVERY == 0:
            typer.echo(
                f"  {tally.considered} decisions, up to position {found.decision.position}",
                err=True,
            )
        if found.status in _TAMPERED or any(d is not None for d in found.differences.values()):
            yield found


def _summary(tally: ReplayTally) -> list[str]:
    lines = [f"decisions considered: {tally.considered}"]
    for name in tally.engines:
        lines.append(
            f"replayed under {name}: {tally.replayed.get(name, 0)} "
            f"({tally.agreeing.get(name, 0)} agree, {tally.differing.get(name, 0)} differ)"
        )
    mismatches = tally.not_replayable.get(Replayability.INPUT_MISMATCH, 0)
    lines.append(f"input digest mismatches: {mismatches}")
    lines.append(f"bundle digest mismatches: {tally.not_replayable.get(BUNDLE_MISMATCH, 0)}")
    apart = {why: tally.not_replayable.get(key, 0) for key, why in _WHY.items()}
    listed = ", ".join(f"{why} {count}" for why, count in apart.items() if count)
    lines.append(f"not replayable: {sum(apart.values())}" + (f" ({listed})" if listed else ""))
    return lines


def _lines(found: list[DecisionReplay]) -> Iterator[str]:
    for replayed in found:
        d = replayed.decision
        head = f"{d.id} {d.at.isoformat()} {d.action} by {d.actor}, version {d.policy_version}"
        if replayed.status in _TAMPERED:
            yield f"TAMPERED {head}: {_TAMPERED[replayed.status]}"
        for name, difference in replayed.differences.items():
            if difference is not None:
                yield f"DIFFERS {head}, under {name}: {_described(difference)}"


def _described(difference: Difference) -> str:
    shown = difference.as_json()
    parts = []
    if difference.outcome_differs:
        parts.append(
            f"outcome {shown['outcome']['recorded']} recorded, {shown['outcome']['now']} now"
        )
    for kind in ("deny", "warn"):
        for side, label in (("only_recorded", "only in recorded"), ("only_now", "only now")):
            items = shown[kind][side]
            if items:
                listed = "; ".join(f"{i['rule']}: {i['message']}" for i in items)
                parts.append(f"{kind} {label}: {listed}")
    if difference.now.error:
        parts.append(f"error now: {difference.now.error}")
    return " | ".join(parts)


def _report(
    tally: ReplayTally,
    found: list[DecisionReplay],
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "engines": list(tally.engines),
        "considered": tally.considered,
        "replayed": {e: tally.replayed.get(e, 0) for e in tally.engines},
        "agreeing": {e: tally.agreeing.get(e, 0) for e in tally.engines},
        "differing": {e: tally.differing.get(e, 0) for e in tally.engines},
        "input_digest_mismatches": tally.not_replayable.get(Replayability.INPUT_MISMATCH, 0),
        "bundle_digest_mismatches": tally.not_replayable.get(BUNDLE_MISMATCH, 0),
        "not_replayable": {str(key): tally.not_replayable.get(key, 0) for key in _WHY},
        "tampered": [
            {**_decision(r), "why": str(r.status)} for r in found if r.status in _TAMPERED
        ],
        "differences": [
            {**_decision(r), "engine": name, **difference.as_json()}
            for r in found
            for name, difference in r.differences.items()
            if difference is not None
        ],
    }


def _decision(replayed: DecisionReplay) -> dict[str, Any]:
    d = replayed.decision
    return {
        "decision_id": str(d.id),
        "position": d.position,
        "at": d.at.isoformat(),
        "action": d.action,
        "actor": d.actor,
        "policy_version": d.policy_version,
    }
