"""The item bank: seeded from item_bank.yaml, extended with CreateItem; a changed wording
becomes a new item_version so published surveys keep what they asked."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg
import yaml
from pulse_common.db import Connection
from pulse_common.errors import InvalidArgument

from pulse_survey import domain
from pulse_survey import survey_repository as repo
from pulse_survey.context import Deps

SCALES = {
    "likert_5": domain.LIKERT_5,
    "likert_7": domain.LIKERT_7,
    "nps_0_10": domain.NPS_0_10,
    "csat_1_5": domain.CSAT_1_5,
    "ces_1_7": domain.CES_1_7,
    "free_text": domain.FREE_TEXT,
}


@dataclass(frozen=True)
class BankItem:
    spec: domain.ItemSpec
    item_version: int


def bank_seed() -> list[domain.ItemSpec]:
    text = resources.files("pulse_survey").joinpath("item_bank.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    specs = [
        domain.ItemSpec(
            item_id=entry["id"],
            construct=entry["construct"],
            text=entry["text"],
            language=entry.get("language", "en"),
            scale=SCALES[entry["scale"]],
            reverse_scored=bool(entry.get("reverse_scored", False)),
            required=bool(entry.get("required", False)),
        )
        for entry in document["items"]
    ]
    for spec in specs:
        domain.validate_item(spec, f"item_bank.yaml {spec.item_id}")
    return specs


async def seed_bank(pool: asyncpg.Pool) -> None:
    """Insert version 1 of every bank item that is missing (idempotent across restarts)."""
    async with pool.acquire() as conn, conn.transaction():
        await repo.seed_items(conn, bank_seed())


def _item(row: asyncpg.Record) -> BankItem:
    spec = domain.ItemSpec(
        item_id=row["item_id"],
        construct=row["construct"],
        text=row["text"],
        language=row["language"],
        scale=row["scale"],
        reverse_scored=row["reverse_scored"],
        required=row["required"],
    )
    return BankItem(spec, row["item_version"])


async def latest_items(conn: Connection | asyncpg.Pool) -> dict[str, BankItem]:
    return {row["item_id"]: _item(row) for row in await repo.latest_items(conn)}


async def list_items(deps: Deps, construct: str, language: str, kind: int) -> list[BankItem]:
    items = (await latest_items(deps.pool)).values()
    return sorted(
        (
            item
            for item in items
            if (not construct or item.spec.construct == construct)
            and (not language or item.spec.language == language)
            and (not kind or kind in domain.construct_kinds(item.spec.construct))
        ),
        key=lambda item: item.spec.item_id,
    )


async def create_item(deps: Deps, spec: domain.ItemSpec) -> BankItem:
    """A new item, or the next version of an existing one; an identical repeat returns the
    current version (safe retries)."""
    domain.validate_item(spec)
    async with deps.transaction() as conn:
        await repo.lock_items(conn)
        current = (await latest_items(conn)).get(spec.item_id)
        if current is not None:
            if current.spec == spec:
                return current
            if current.spec.construct != spec.construct:
                # Aggregates are keyed by item and construct: an item cannot change meaning.
                raise InvalidArgument("item.construct", "cannot change for an existing item")
        version = 1 if current is None else current.item_version + 1
        await repo.insert_item(conn, spec, version)
    return BankItem(spec, version)
