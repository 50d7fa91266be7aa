"""SQL of the item bank (table ``items``: one row per item version)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg
from pulse_common.db import Connection

from pulse_survey.domain import BankItem, ItemSpec

_ITEM_LOCK = 0x5055_4C53_4954_4D  # serialises version numbering of one bank
_INSERT = (
    "INSERT INTO items (item_id, item_version, construct, text, language, scale,"
    " reverse_scored, required, translations, kinds)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)"
)


def _values(spec: ItemSpec, version: int) -> tuple[object, ...]:
    return (
        spec.item_id,
        version,
        spec.construct,
        spec.text,
        spec.language,
        spec.scale,
        spec.reverse_scored,
        spec.required,
        json.dumps(dict(spec.translations), sort_keys=True),
        list(spec.kinds),
    )


def _item(row: asyncpg.Record) -> BankItem:
    spec = ItemSpec(
        item_id=row["item_id"],
        construct=row["construct"],
        text=row["text"],
        language=row["language"],
        scale=row["scale"],
        reverse_scored=row["reverse_scored"],
        required=row["required"],
        translations=tuple(sorted(json.loads(row["translations"]).items())),
        kinds=tuple(row["kinds"]),
    )
    return BankItem(spec, row["item_version"])


async def lock_items(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ITEM_LOCK)


async def seed_items(conn: Connection, specs: Sequence[ItemSpec]) -> None:
    """Version 1 of every item not yet in the bank."""
    await conn.executemany(_INSERT + " ON CONFLICT DO NOTHING", [_values(s, 1) for s in specs])


async def latest_items(conn: Connection) -> dict[str, BankItem]:
    """The latest version of every item, by item id."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (item_id) * FROM items ORDER BY item_id, item_version DESC"
    )
    return {row["item_id"]: _item(row) for row in rows}


async def insert_item(conn: Connection, spec: ItemSpec, version: int) -> None:
    await conn.execute(_INSERT, *_values(spec, version))
