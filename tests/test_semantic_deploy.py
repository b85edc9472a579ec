"""Cube deployment: the compose file serves semantic/model on the warehouse, cube.py maps roles."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from semantic.model_loader import load_model

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "semantic" / "deploy"
ROLES_THE_CLIENT_SENDS = {"executive", "analyst", "account_manager"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Container path -> (source, mode) of a service's short-syntax volumes."""
    mounts = {}
    for volume in service["volumes"]:
        mode = "rw"
        if volume.endswith((":ro", ":rw")):
            volume, mode = volume.rsplit(":", 1)
        source, target = volume.rsplit(":", 1)  # the source may hold ${VAR:-default}
        mounts[target] = (source, mode)
    return mounts


def test_cube_service_serves_the_model_folder_with_the_duckdb_driver(compose):
    cube = compose["services"]["cube"]
    assert cube["image"].startswith("cubejs/cube:")
    env = cube["environment"]
    assert env["CUBEJS_DB_TYPE"] == "duckdb"
    assert env["CUBEJS_DEV_MODE"] == "false"
    assert env["CUBEJS_API_SECRET"].startswith("${CUBEJS_API_SECRET:?")  # from the environment
    mounts = _mounts(cube)
    model_target = f"/cube/conf/{env['CUBEJS_SCHEMA_PATH']}"
    source, mode = mounts[model_target]
    assert (DEPLOY / source).resolve() == ROOT / "semantic" / "model"
    assert mode == "ro"
    assert (DEPLOY / mounts["/cube/conf/cube.py"][0]).resolve() == DEPLOY / "cube.py"


def test_cube_reads_a_snapshot_of_the_warehouse_mounted_read_only(compose):
    services = compose["services"]
    cube, snapshot = services["cube"], services["warehouse-snapshot"]
    database = PurePosixPath(cube["environment"]["CUBEJS_DB_DUCKDB_DATABASE_PATH"])
    volume, _ = _mounts(cube)[str(database.parent)]
    assert volume in compose["volumes"]
    assert cube["depends_on"]["warehouse-snapshot"]["condition"] == "service_completed_successfully"
    snapshot_mounts = _mounts(snapshot)
    source, mode = snapshot_mounts["/warehouse"]
    assert mode == "ro" and source.endswith("../../build/warehouse}")
    assert snapshot_mounts["/snapshot"][0] == volume
    assert f"/snapshot/{database.name}" in " ".join(snapshot["command"])


@pytest.fixture(scope="module")
def cube_config(tmp_path_factory) -> types.SimpleNamespace:
    """cube.py loaded with a stand-in for Cube's `cube` module that records registrations."""
    registered: dict[str, Any] = {}

    def config(name: str):
        def register(function):
            registered[name] = function
            return function

        return register

    stand_in = types.ModuleType("cube")
    stand_in.config = config
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(__import__("sys").modules, "cube", stand_in)
        spec = importlib.util.spec_from_file_location("custintel_cube_config", DEPLOY / "cube.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return types.SimpleNamespace(module=module, registered=registered)


def test_context_to_groups_maps_the_role_claim_to_policy_groups(cube_config):
    to_groups = cube_config.registered["context_to_groups"]
    assert to_groups({"securityContext": {"role": "analyst", "iat": 1}}) == ["analyst"]
    assert to_groups({"securityContext": {"roles": ["executive", "analyst"]}}) == [
        "executive",
        "analyst",
    ]
    assert to_groups({"securityContext": {"account_manager_id": "AM01"}}) == []
    assert to_groups({}) == []


def test_every_view_policy_group_is_a_role_the_client_sends():
    model = load_model(ROOT / "semantic" / "model")
    for view in model.views.values():
        groups = {role for policy in view.access_policy or [] for role in policy.roles}
        assert groups - {"*"} <= ROLES_THE_CLIENT_SENDS, view.name
        assert groups - {"*"} == ROLES_THE_CLIENT_SENDS, view.name
        defaults = [policy for policy in view.access_policy if "*" in policy.roles]
        # callers without a role: a '*' policy that cannot widen a restricted role's rows,
        # whether the token names it in `role` or in a `roles` list
        assert [policy.conditions for policy in defaults] == [
            ("{ not securityContext.role }", "{ not securityContext.roles }")
        ]


def test_cube_image_is_pinned_and_checks_tokens_like_custintel(compose):
    cube = compose["services"]["cube"]
    tag = cube["image"].split(":", 1)[1]
    assert tag.startswith("v1.6.") and "$" not in tag and tag != "latest"
    assert int(tag.rsplit(".", 1)[1]) >= 44  # per-row masking (Cube PR 10803)
    env = cube["environment"]
    assert env["CUBEJS_JWT_ALGS"] == "HS256"
    # the same variable custintel reads as semantic.token_audience
    assert env["CUBEJS_JWT_AUDIENCE"].startswith("${CUSTINTEL_SEMANTIC__TOKEN_AUDIENCE:?")


def test_groups_are_the_roles_list_and_the_role_claim_together(cube_config):
    to_groups = cube_config.registered["context_to_groups"]
    assert to_groups({"securityContext": {"roles": ["analyst"], "role": "account_manager"}}) == [
        "analyst",
        "account_manager",
    ]
