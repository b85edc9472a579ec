"""Render the landing contract as SQLMesh external models (`sqlmesh/external_models/landing.yaml`).

The landing tables are written by `custintel.core.landing.loader`, not by SQLMesh, so SQLMesh knows
them as external models: their columns and types come from the contract, plus the two lineage
columns the loader adds. Regenerate the file after changing the contract:

    python -m custintel.app.external_models
"""

from __future__ import annotations

from pathlib import Path

import yaml

from custintel.core.landing import Contract, Table, load_contract
from custintel.core.settings import load_settings

LANDING_SCHEMA = "landing"
#: lineage columns the loader appends to every landing table
LINEAGE_COLUMNS: dict[str, tuple[str, str]] = {
    "_source_file": (
        "VARCHAR",
        "Landing file the row was read from, relative to the landing folder",
    ),
    "_source_row_number": ("BIGINT", "1-based row number of the row in its landing file"),
}
HEADER = (
    "# Generated from custintel/core/landing/contract.yaml by\n"
    "# `python -m custintel.app.external_models`; do not edit by hand\n"
    "# (tests/test_sqlmesh_project.py checks it is in sync).\n"
)


def external_models_path(sqlmesh_path: Path) -> Path:
    """Where the landing external models live inside the SQLMesh project."""
    return sqlmesh_path / "external_models" / "landing.yaml"


def _external_model(table: Table) -> dict:
    columns = {column.name: column.duckdb_type for column in table.columns}
    descriptions = {column.name: column.description for column in table.columns}
    for name, (duckdb_type, description) in LINEAGE_COLUMNS.items():
        columns[name] = duckdb_type
        descriptions[name] = description
    return {
        "name": f"{LANDING_SCHEMA}.{table.qualified_name}",
        "description": " ".join(table.description.split()),
        "columns": columns,
        "column_descriptions": descriptions,
    }


def render_external_models(contract: Contract | None = None) -> str:
    """The YAML text declaring every contract table as a SQLMesh external model."""
    contract = contract or load_contract()
    models = [_external_model(table) for table in contract.tables]
    return HEADER + yaml.safe_dump(models, sort_keys=False, width=100, allow_unicode=True)


def write_external_models(sqlmesh_path: Path, contract: Contract | None = None) -> Path:
    """Write the rendered external models into the SQLMesh project; return the file written."""
    path = external_models_path(sqlmesh_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_external_models(contract))
    return path


if __name__ == "__main__":
    print(f"wrote {write_external_models(load_settings().sqlmesh_path)}")
