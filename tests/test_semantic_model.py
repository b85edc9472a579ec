"""Model loading and validation: the fixture model loads; broken models fail with clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from semantic.errors import ModelError
from semantic.model_loader import load_model
from tests.semantic_support import MODEL_PATH


def copy_model(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(MODEL_PATH, target)
    return target


def edit(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def member(document: dict, section: str, name: str) -> dict:
    return next(item for item in document["cubes"][0][section] if item["name"] == name)


def test_fixture_model_loads_with_views_expanded():
    model = load_model(MODEL_PATH)
    assert set(model.cubes) == {"customers", "orders", "tickets", "activity"}
    view = model.views["customer_360"]
    assert view.members["order_count"].cube == "orders"
    assert view.members["order_count"].member == "count"
    assert view.members["ticket_count"].join_path == ("customers", "tickets")
    assert model.views["order_lines"].members["customers_segment"].member == "segment"
    assert model.cubes["orders"].joins["customers"].relationship == "many_to_one"
    assert model.cubes["activity"].measures["active_customers"].rolling_window.trailing == "30 day"


def assert_issue(model_path: Path, *fragments: str) -> ModelError:
    with pytest.raises(ModelError) as caught:
        load_model(model_path)
    text = str(caught.value)
    for fragment in fragments:
        assert fragment in text, text
    return caught.value


def test_bad_relationship_is_reported_with_file_cube_and_join(tmp_path):
    model = copy_model(tmp_path)
    edit(
        model / "cubes" / "orders.yml",
        lambda d: d["cubes"][0]["joins"][0].update(relationship="belongs_to_many"),
    )
    assert_issue(
        model,
        "orders.yml",
        "cube orders",
        "join customers",
        "unknown relationship 'belongs_to_many'",
    )


def test_unresolved_reference_is_reported(tmp_path):
    model = copy_model(tmp_path)
    edit(
        model / "cubes" / "orders.yml",
        lambda d: member(d, "measures", "revenue").update(sql="{net_amout}"),
    )
    assert_issue(model, "cube orders", "measure revenue", "'{net_amout}' does not resolve")


def test_reference_to_unknown_cube_and_wrong_member_kind(tmp_path):
    model = copy_model(tmp_path)
    edit(
        model / "cubes" / "orders.yml",
        lambda d: member(d, "measures", "aov").update(sql="{revenue} / {clients.count}"),
    )
    edit(
        model / "cubes" / "tickets.yml",
        lambda d: member(d, "measures", "avg_csat").update(sql="{count}"),
    )
    error = assert_issue(
        model,
        "unknown cube 'clients'",
        "measure avg_csat",
        "is a measure; only dimension references are allowed",
    )
    assert len(error.issues) == 2


def test_unknown_keys_types_and_names_are_rejected(tmp_path):
    model = copy_model(tmp_path)

    def break_tickets(document: dict) -> None:
        cube = document["cubes"][0]
        cube["joins"][0]["relationshp"] = cube["joins"][0].pop("relationship")
        member(document, "dimensions", "csat").update(type="integer")
        member(document, "measures", "count").update(name="ticketCount")

    edit(model / "cubes" / "tickets.yml", break_tickets)
    assert_issue(
        model,
        "unknown key 'relationshp'",
        "has no `relationship`",
        "unknown type 'integer'",
        "'ticketCount' is not a snake_case identifier",
    )


def test_join_needs_primary_keys_on_both_cubes(tmp_path):
    model = copy_model(tmp_path)
    edit(
        model / "cubes" / "tickets.yml",
        lambda d: member(d, "dimensions", "ticket_id").pop("primary_key"),
    )
    assert_issue(model, "cube 'tickets' has no primary_key")


def test_view_join_path_and_includes_must_resolve(tmp_path):
    model = copy_model(tmp_path)

    def break_view(document: dict) -> None:
        cubes = document["views"][0]["cubes"]
        cubes[1]["join_path"] = "customers.invoices"
        cubes[2]["includes"].append("resolution_minutes")

    edit(model / "views" / "customer_360.yml", break_view)
    assert_issue(
        model,
        "view customer_360",
        "customers.invoices",
        "unknown cube 'invoices'",
        "includes unknown member 'resolution_minutes'",
    )


def test_duplicate_view_member_names_need_alias(tmp_path):
    model = copy_model(tmp_path)
    edit(
        model / "views" / "customer_360.yml",
        lambda d: d["views"][0]["cubes"][2]["includes"].__setitem__(0, "count"),
    )
    assert_issue(model, "member count", "is included twice")


def test_access_policy_members_and_operators_are_checked(tmp_path):
    model = copy_model(tmp_path)

    def break_policy(document: dict) -> None:
        policy = document["views"][0]["access_policy"][2]
        policy["row_level"]["filters"][0].update(member="manager_id", operator="eq")
        document["views"][0]["access_policy"][1]["member_masking"]["includes"].append("ssn")

    edit(model / "views" / "customer_360.yml", break_policy)
    assert_issue(
        model,
        "access_policy[2]",
        "unknown member 'manager_id'",
        "unknown operator 'eq'",
        "access_policy[1] member_masking",
        "unknown member 'ssn'",
    )


def test_reference_cycle_is_reported(tmp_path):
    model = copy_model(tmp_path)

    def cycle(document: dict) -> None:
        member(document, "dimensions", "net_amount").update(sql="{gross} - 1")
        document["cubes"][0]["dimensions"].append(
            {"name": "gross", "sql": "{net_amount} + 1", "type": "number"}
        )

    edit(model / "cubes" / "orders.yml", cycle)
    assert_issue(model, "dimension gross", "references itself")


def test_invalid_yaml_and_sql_name_the_file(tmp_path):
    model = copy_model(tmp_path)
    (model / "cubes" / "broken.yml").write_text("cubes: [name: x\n")
    assert_issue(model, "broken.yml", "not valid YAML")
    (model / "cubes" / "broken.yml").write_text(
        yaml.safe_dump(
            {
                "cubes": [
                    {
                        "name": "broken",
                        "sql_table": "t",
                        "dimensions": [
                            {
                                "name": "id",
                                "sql": "CASE WHEN",
                                "type": "number",
                                "primary_key": True,
                            }
                        ],
                    }
                ]
            }
        )
    )
    assert_issue(model, "cube broken", "dimension id", "SQL does not parse")
