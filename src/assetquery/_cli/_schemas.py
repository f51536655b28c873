"""The JSON Schemas ``assetquery schema`` prints: one per kind of JSON the commands write.

A lookup report documents itself (its pydantic fields carry descriptions). The ledger's
outputs are plain dataclasses, so what each field means is written here, once, and put into
their schemas; a test holds every field to having a description and a line in
docs/actions.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter

from .._models import LookupReport
from ..ledger import ControlAction, DueControl, FreezePlan, SyncChange

__all__ = ["DESCRIPTIONS", "SCHEMAS", "json_schema", "schema"]

#: what each field of the ledger's JSON means, per schema definition
DESCRIPTIONS: Mapping[str, Mapping[str, str]] = {
    "ControlAction": {
        "id": "the action's number in the ledger (what `actions show ID` takes)",
        "idempotency_key": "sent with every submission and status query; the institution "
        "de-duplicates by it, so a resend never controls an asset twice",
        "kind": "freeze, seal, deduct, renew or release",
        "state": "where it stands: requested, submitted, acknowledged, waiting, effective, "
        "completed, released, expired, deducted, lapsed, rejected or failed",
        "case_number": "the enforcement case, as written when the action was requested",
        "enforcement_document": "the number of the ruling or assistance notice it executes",
        "court": "the court asking, or null",
        "requested_by": "the operator who asked (purpose binding)",
        "requested_at": "when it was recorded, before anything was sent (UTC, ISO 8601)",
        "party_kind": "person or organization",
        "party_name": "the debtor's name (unmasked: ledger output belongs to the court)",
        "party_id_number": "resident ID or unified social credit code (unmasked, as above)",
        "institution": "the configured institution id it goes to",
        "asset_kind": "bank_account, housing_fund, real_estate, or an adapter's own kind",
        "asset_identifier": "the institution's identifier of the asset: account or unit number",
        "amount": "the amount frozen or deducted (the institution's figure once in force; a "
        "partial deduction lowers its freeze's amount); null for a seal",
        "live_seal": "a seal that leaves the debtor the use of the asset (活查封)",
        "withdrawal_condition": "for a housing-fund deduction, the legal ground for "
        "withdrawing the fund (retirement, home purchase, …); null otherwise",
        "override_reason": "why a freeze beyond the claim was allowed; null if it was not",
        "target_id": "for a deduction, renewal or release: the id of the control it acts on",
        "institution_reference": "the institution's own reference of the action or control",
        "effective_on": "the day the control came into force (the institution's date, or the "
        "day its answer was read)",
        "expires_on": "the last day the control is in force unless renewed; renew before it",
        "expiry_source": "where expires_on comes from: 'institution' (it reported the date) "
        "or 'computed' (from the rule pack's legal period); null until in force",
        "waiting_position": "its place in the waiting line (轮候) behind other authorities' "
        "controls; null when not waiting",
        "last_error": "the last failure or refusal, scrubbed of personal data; null if none",
        "updated_at": "when the record last changed (UTC)",
        "version": "counts the record's changes; guards concurrent writers",
        "transitions": "every move it made, oldest first",
        "target_expires_on": "for a renewal: its control's end date when the renewal was "
        "asked for (was it asked for in time?); null otherwise",
    },
    "Transition": {
        "from_state": "the state before the move; null for the first record",
        "to_state": "the state after the move",
        "at": "when the move was recorded (UTC)",
        "actor": "who made it: the operator, the institution's id, or 'assetquery'",
        "reason": "why, in a sentence (the institution's message, scrubbed)",
    },
    "Money": {
        "amount": "a decimal amount, two places (fen); never a float",
        "currency": "ISO 4217 code, CNY unless an institution says otherwise",
    },
    "SyncChange": {
        "action_id": "the action that changed (or could not be asked about)",
        "kind": "its kind",
        "before": "its state before the sync",
        "after": "its state after the sync (the same when only facts changed, or when the "
        "institution could not be asked)",
        "note": "what happened, in a sentence",
    },
    "DueControl": {
        "action": "the control in force, as in `actions list`",
        "expires_on": "the last day it is in force",
        "renew_by": "the last day to ask for its renewal (the rule pack's notice period)",
        "days_left": "days from today until renew_by (negative: late)",
    },
    "FreezePlan": {
        "claim": "what is to be covered: the judgment debt plus enforcement costs",
        "already_controlled": "what the case's freezes in force already hold",
        "controls": "the proposed controls, most liquid assets first",
        "planned_amount": "the total of the proposed freezes",
        "shortfall": "what the proposed freezes leave uncovered (a seal's value is unknown "
        "until a valuation, so it does not reduce the shortfall)",
        "notes": "what the clerk should know: assets left out and why",
    },
    "PlannedControl": {
        "operation": "freeze or seal",
        "institution": "the institution that holds the asset",
        "asset_kind": "the asset's kind",
        "asset_identifier": "the institution's identifier of the asset",
        "amount": "the amount to freeze; null for a seal",
        "exceeds_remainder": "a seal of an indivisible asset worth more than what remains of "
        "the claim (allowed: it cannot be split)",
        "reason": "why it is proposed, in a sentence",
        "waiting_line": "the asset is already controlled by another authority: this control "
        "would wait in line",
    },
}

#: what `assetquery schema NAME` can print: the JSON of each command's output
SCHEMAS: Mapping[str, tuple[str, Any]] = {
    "report": ("a lookup report: one line of `batch -o`, `lookup --json`", LookupReport),
    "action": ("a control action: `actions list|show|freeze|… --json`", ControlAction),
    "plan": ("a freeze plan: `actions plan --json`", FreezePlan),
    "sync": ("one change found by `actions sync --json`", SyncChange),
    "due": ("one control on the renewal radar: `actions due --json`", DueControl),
}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of the output ``name`` (a key of ``SCHEMAS``), with every field's
    description."""
    _, kind = SCHEMAS[name]
    if kind is LookupReport:
        return LookupReport.model_json_schema()
    schema: dict[str, Any] = TypeAdapter(kind).json_schema(mode="serialization")
    definitions: dict[str, Any] = schema.get("$defs", {})
    for title, body in [(schema.get("title", ""), schema), *definitions.items()]:
        described = DESCRIPTIONS.get(title, {})
        for field, spec in body.get("properties", {}).items():
            if field in described:
                spec["description"] = described[field]
    return schema


def schema(
    name: Annotated[
        str,
        typer.Argument(
            help="Which output: "
            + "; ".join(f"{key} = {what}" for key, (what, _) in SCHEMAS.items())
            + "."
        ),
    ] = "report",
) -> None:
    """Print the JSON Schema of a command's JSON output (default: a lookup report)."""
    if name not in SCHEMAS:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(SCHEMAS)}", param_hint="NAME")
    sys.stdout.write(json.dumps(json_schema(name), ensure_ascii=False, indent=2))
    sys.stdout.write("\n")
