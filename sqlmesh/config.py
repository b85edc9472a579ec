"""SQLMesh configuration of the custintel warehouse, built from custintel's settings.

`custintel.app.transform` calls `build_config(settings)` with the settings it was given and
opens its Context with that Config object: importing this module reads no file. SQLMesh run by
hand in this folder (`sqlmesh plan`, `sqlmesh ui`) asks the module for `config`; that attribute
is built on first access (module `__getattr__`) from the config file named by CUSTINTEL_CONFIG,
else the project's config.yaml.
Gateways: `duckdb` (the default; warehouse and state are DuckDB files) and `spark` (PySpark,
`spark.master` or a Spark Connect URL from the settings' `spark` section; state in DuckDB).
`sqlmesh.gateway` in config.yaml picks the default one.
"""

from __future__ import annotations

from sqlmesh.core.config import (
    Config,
    ConnectionConfig,
    DuckDBConnectionConfig,
    GatewayConfig,
    LinterConfig,
    ModelDefaultsConfig,
    SparkConnectionConfig,
)
from sqlmesh.core.config.connection import parse_connection_config

from custintel.core.settings import Settings, load_settings
from custintel.core.spark_gateway import spark_config

#: the SQL dialect the models are written in; SQLGlot transpiles it for other gateways
MODEL_DIALECT = "duckdb"

#: SQLMesh's built-in lint rules the models must pass: a violation fails `sqlmesh lint`, every
#: plan and so every build. A rule is listed by name (not "ALL") so a SQLMesh upgrade adding a
#: rule does not break builds unannounced. A model may waive one rule in its MODEL block with
#: `ignored_rules` and a comment saying why (the quarantine models' `landed.*`).
LINT_RULES = (
    "ambiguousorinvalidcolumn",  # every column resolves to exactly one source
    "invalidselectstarexpansion",  # a star SQLMesh cannot expand (unknown upstream schema)
    "noambiguousprojections",  # every output column has one unique name
    "noselectstar",  # outer projections are listed (the model's columns are its contract)
    "nomissingaudits",  # every model audits its data
    "nomissingexternalmodels",  # every table read is a model or declared external
)

#: rules that do not fit the project, with the reason
IGNORED_LINT_RULES = (
    # a YAML unit test per model: the 14 staging and 14 quarantine models and most warehouse
    # models are tested end to end instead (tests/test_sqlmesh_*.py: a hand-built landing with
    # one planted defect per rejection reason); every mart has YAML tests, which
    # tests/test_marts_project.py enforces
    "nomissingunittest",
)


def _state_connection(settings: Settings) -> ConnectionConfig:
    """The DuckDB file at `sqlmesh.state_path`, or the shared database `sqlmesh.state_connection`
    names (e.g. PostgreSQL for a team); the password can come from the environment
    (CUSTINTEL_SQLMESH__STATE_CONNECTION is read as YAML)."""
    shared = settings.sqlmesh.state_connection
    if shared:
        return parse_connection_config(dict(shared))
    return DuckDBConnectionConfig(database=str(settings.state_path))


def _duckdb_options(settings: Settings) -> dict[str, str]:
    """DuckDB settings of the warehouse connection (`warehouse.memory_limit`, when set)."""
    limit = settings.warehouse.memory_limit
    return {"memory_limit": limit} if limit else {}


def _duckdb_gateway(settings: Settings) -> GatewayConfig:
    return GatewayConfig(
        connection=DuckDBConnectionConfig(
            database=str(settings.warehouse_path), connector_config=_duckdb_options(settings)
        ),
        state_connection=_state_connection(settings),
        test_connection=DuckDBConnectionConfig(),
    )


def _spark_gateway(settings: Settings) -> GatewayConfig:
    """The `spark` section of the settings (master or Spark Connect URL, warehouse folder,
    metastore): the same session the landing writer, semantic engine and ML use."""
    spark = SparkConnectionConfig(
        config=spark_config(settings),
        concurrent_tasks=2,
        # column comments are set with ALTER TABLE, which the Hive catalogue refuses for
        # TIMESTAMP_NTZ columns (DuckDB's `timestamp`); descriptions stay in the models
        register_comments=False,
    )
    return GatewayConfig(
        connection=spark,
        state_connection=_state_connection(settings),
        # the unit tests run on Spark too: they prove the transpiled SQL, not DuckDB's
        test_connection=spark,
    )


def build_gateways(settings: Settings) -> dict[str, GatewayConfig]:
    """The configured gateway only.

    SQLMesh opens a connection to every gateway of a config (multi-engine projects), so a
    DuckDB build with the spark gateway also listed would start a Spark session it never uses,
    and SQLMesh refuses a gateway whose library (PySpark) is not installed. Switch gateways
    with `sqlmesh.gateway` (or CUSTINTEL_SQLMESH__GATEWAY).
    """
    builders = {"duckdb": _duckdb_gateway, "spark": _spark_gateway}
    return {settings.sqlmesh.gateway: builders[settings.sqlmesh.gateway](settings)}


def build_config(settings: Settings) -> Config:
    """The SQLMesh Config for these settings: gateways, model defaults, project variables."""
    return Config(
        project="custintel",
        gateways=build_gateways(settings),
        default_gateway=settings.sqlmesh.gateway,
        model_defaults=ModelDefaultsConfig(
            dialect=MODEL_DIALECT,
            start=settings.sqlmesh.start.isoformat(),
            cron="@daily",
            owner="analytics_engineering",
        ),
        variables={"history_start": settings.sqlmesh.start.isoformat()},
        linter=LinterConfig(
            enabled=True, rules=set(LINT_RULES), ignored_rules=set(IGNORED_LINT_RULES)
        ),
        # the cache sits beside the state, so warehouses built side by side (tests, bench,
        # parallel CI workers) never share one
        cache_dir=str(settings.state_path.parent / "sqlmesh_cache"),
        disable_anonymized_analytics=True,
    )


def __getattr__(name: str) -> Config:
    """`config` for the `sqlmesh` command line, built when SQLMesh first asks for it."""
    if name == "config":
        return build_config(load_settings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
