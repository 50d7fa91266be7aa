"""The item bank: seeded from item_bank.yaml, extended with CreateItem; a changed wording
becomes a new item_version so published surveys keep what they asked."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any

import yaml
from pulse_common import measures
from pulse_common.errors import InvalidArgument
from pulse_common.uow import Database

from pulse_survey import domain
from pulse_survey import item_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import BankItem, ItemSpec


def _wording(entry: dict[str, Any]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(language, text, translations) of a bank entry: ``text`` is either one string (in
    ``language``, default en) or a mapping language -> text whose ``en`` is the main one."""
    text = entry["text"]
    if isinstance(text, str):
        return entry.get("language", "en"), text, ()
    language = entry.get("language", "en")
    others = tuple(sorted((tag, str(words)) for tag, words in text.items() if tag != language))
    return language, str(text[language]), others


def bank_seed() -> list[ItemSpec]:
    """The packaged bank, each item checked by the rules CreateItem applies."""
    text = resources.files("pulse_survey").joinpath("item_bank.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    specs = []
    for entry in document["items"]:
        language, wording, translations = _wording(entry)
        specs.append(
            ItemSpec(
                item_id=entry["id"],
                construct=entry["construct"],
                text=wording,
                language=language,
                scale=measures.SCALE_NAMES[entry["scale"]],
                reverse_scored=bool(entry.get("reverse_scored", False)),
                required=bool(entry.get("required", False)),
                translations=translations,
                kinds=tuple(measures.KIND_NAMES[name] for name in entry.get("kinds", ())),
            )
        )
    for spec in specs:
        domain.validate_item(spec, f"item_bank.yaml {spec.item_id}")
    return specs


async def seed_bank(db: Database) -> None:
    """Insert version 1 of every bank item that is missing (idempotent across restarts); an
    item seeded by an older bank that now ships translations or kinds (same wording
    otherwise) gets them as its next version, so published surveys keep what they asked."""
    seed = bank_seed()
    async with db.unit_of_work() as uow:
        await repo.lock_items(uow.conn)
        await repo.seed_items(uow.conn, seed)
        current = await repo.latest_items(uow.conn)
        for spec in seed:
            stored = current[spec.item_id]
            if stored.spec != spec and _only_gained(stored.spec, spec):
                await repo.insert_item(uow.conn, spec, stored.item_version + 1)


def _only_gained(stored: ItemSpec, bank: ItemSpec) -> bool:
    """The bank's spec adds translations or kinds to the stored one and changes nothing else
    (a deployment's own later wording is never overwritten by the packaged bank)."""
    plain = dataclasses.replace(bank, translations=(), kinds=())
    return (
        dataclasses.replace(stored, translations=(), kinds=()) == plain
        and not stored.translations
        and not stored.kinds
    )


async def list_items(deps: Deps, construct: str, language: str, kind: int) -> list[BankItem]:
    """The latest version of every item, filtered by what is given ("" / 0: any)."""
    async with deps.db.connection() as conn:
        items = (await repo.latest_items(conn)).values()
    return sorted(
        (
            item
            for item in items
            if (not construct or item.spec.construct == construct)
            and (not language or language in item.spec.wording())
            and (not kind or domain.item_fits(item.spec, kind))
        ),
        key=lambda item: item.spec.item_id,
    )


async def create_item(deps: Deps, spec: ItemSpec) -> BankItem:
    """A new item, or the next version of an existing one; an identical repeat returns the
    current version (safe retries)."""
    domain.validate_item(spec)
    async with deps.db.unit_of_work() as uow:
        await repo.lock_items(uow.conn)
        current = (await repo.latest_items(uow.conn)).get(spec.item_id)
        if current is not None:
            if current.spec == spec:
                return current
            if current.spec.construct != spec.construct:
                # Aggregates are keyed by item and construct: an item cannot change meaning.
                raise InvalidArgument("item.construct", "cannot change for an existing item")
        version = 1 if current is None else current.item_version + 1
        await repo.insert_item(uow.conn, spec, version)
    return BankItem(spec, version)
