"""The schema the migrations build matches the seed, column by column, on this backend."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect

from goalpath.db import Database
from tests.fixtures.seed import SeedColumn, SeedTable, parse_seed

SEED = parse_seed()

# Extension columns on seed tables, each named in docs/schema.md with its requirement.
EXTENSION_COLUMNS: dict[str, set[str]] = {
    "user": {"deactivated_at", "id_school_district_home"},
    "student": {"withdrawn_on"},
    "role": {"requires_second_factor"},
    "school_district": {"time_zone", "country_code"},
    "progress_report": {
        "finalized_at",
        "id_user_finalized",
        "review_reason",
        "review_requested_at",
    },
}


def test_seed_file_has_fifteen_tables() -> None:
    assert len(SEED) == 15
    for table in SEED.values():
        assert len(table.columns) == table.declared_columns, table.name


@pytest.fixture(scope="module")
def inspector(database: Database):  # type: ignore[no-untyped-def]
    return inspect(database.engine)


def _type_family(reflected_type: object, backend: str) -> str:
    name = type(reflected_type).__name__.upper()
    length = getattr(reflected_type, "length", None)
    if name in ("VARCHAR", "STRING", "NVARCHAR"):
        return f"varchar({length})"
    if name in ("INTEGER", "INT"):
        return "int"
    if name == "TEXT":
        return "text"
    if name in ("TIMESTAMP", "DATETIME"):
        return "timestamp" if name == "TIMESTAMP" else "datetime"
    if name == "DATE":
        return "date"
    if name == "BOOLEAN":
        return "tinyint(1)"
    if name == "TINYINT" and getattr(reflected_type, "display_width", None) == 1:
        return "tinyint(1)"
    return f"unknown:{name}"


def _default(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = re.sub(r"::[\w ]+", "", str(raw)).strip("()' \"")
    return {"false": "0", "true": "1"}.get(value.lower(), value)


@pytest.mark.parametrize("table_name", sorted(SEED))
def test_table_matches_seed(table_name: str, inspector, backend: str) -> None:  # type: ignore[no-untyped-def]
    seed: SeedTable = SEED[table_name]
    assert inspector.has_table(table_name), f"table {table_name} is missing"
    reflected = {column["name"]: column for column in inspector.get_columns(table_name)}
    extra = set(reflected) - set(seed.columns) - EXTENSION_COLUMNS.get(table_name, set())
    assert not extra, f"{table_name} has undocumented extra columns {extra}"
    primary_key = inspector.get_pk_constraint(table_name)["constrained_columns"]
    foreign_keys = inspector.get_foreign_keys(table_name)
    indexes = inspector.get_indexes(table_name)
    unique_constraints = inspector.get_unique_constraints(table_name)
    leading_columns = {index["column_names"][0] for index in indexes} | {
        unique["column_names"][0] for unique in unique_constraints
    }
    for column in seed.columns.values():
        _check_column(table_name, column, reflected, primary_key, foreign_keys, leading_columns)

    unique_by_name = {unique["name"]: unique["column_names"] for unique in unique_constraints}
    unique_by_name.update(
        {index["name"]: index["column_names"] for index in indexes if index.get("unique")}
    )
    for name, columns in seed.unique_keys.items():
        assert unique_by_name.get(name) == columns, f"{table_name}: unique key {name} missing"

    index_by_name = {index["name"]: index["column_names"] for index in indexes}
    for name, columns in seed.indexes.items():
        expected_name = name
        if table_name == "password_reset_token" and backend != "mysql":
            # Index names are per database on PostgreSQL and SQLite (docs/schema.md).
            expected_name = "idx_password_reset_token_user_created"
        assert index_by_name.get(expected_name) == columns, (
            f"{table_name}: index {expected_name} on {columns} missing; have {index_by_name}"
        )


def _check_column(  # type: ignore[no-untyped-def]
    table_name: str,
    column: SeedColumn,
    reflected,
    primary_key,
    foreign_keys,
    leading_columns,
) -> None:
    where = f"{table_name}.{column.name}"
    assert column.name in reflected, f"{where} is missing"
    actual = reflected[column.name]
    assert _type_family(actual["type"], "") == column.type, (
        f"{where}: type {actual['type']!r}, seed says {column.type}"
    )
    assert actual["nullable"] == column.nullable, f"{where}: nullability differs from the seed"
    if "PK" not in column.keys:
        assert _default(actual.get("default")) == column.default, (
            f"{where}: default {actual.get('default')!r}, seed says {column.default!r}"
        )
    assert ("PK" in column.keys) == (column.name in primary_key), f"{where}: primary key differs"
    if column.references:
        target_table, target_column = column.references
        assert any(
            fk["constrained_columns"] == [column.name]
            and fk["referred_table"] == target_table
            and fk["referred_columns"] == [target_column]
            for fk in foreign_keys
        ), f"{where}: foreign key to {target_table}.{target_column} missing"
    if "IDX" in column.keys or "UQ" in column.keys:
        assert column.name in leading_columns, f"{where}: no index leads with this column"


# Extension tables outside the seed, each named in docs/schema.md.
EXTENSION_TABLES: dict[str, set[str]] = {
    "report_period": {
        "id_report_period",
        "id_school_district",
        "year",
        "name",
        "starts_on",
        "ends_on",
    },
}


@pytest.mark.parametrize("table_name", sorted(EXTENSION_TABLES))
def test_extension_table_has_its_columns(table_name: str, inspector) -> None:  # type: ignore[no-untyped-def]
    reflected = {column["name"] for column in inspector.get_columns(table_name)}
    assert reflected == EXTENSION_TABLES[table_name]
