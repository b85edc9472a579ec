"""Validated project settings, loaded from `config.yaml` and `CUSTINTEL_*` environment overrides."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yaml"
ENV_PREFIX = "CUSTINTEL_"


class SettingsError(ValueError):
    """A configuration file or override is invalid; the message names the key and the value."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WarehouseSettings(_Section):
    path: Path
    #: DuckDB's memory_limit for the SQLMesh build (e.g. "12GB"); None keeps DuckDB's default
    #: (80% of RAM). DuckDB spills to disk beyond it.
    memory_limit: str | None = Field(
        default=None, pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )


class LandingSettings(_Section):
    path: Path


class SampleSettings(_Section):
    customers: int = Field(gt=0)
    months: int = Field(gt=0, le=240)
    start_date: dt.date
    seed: int
    defect_rate: float = Field(ge=0.0, le=0.5)

    @field_validator("start_date")
    @classmethod
    def _first_of_month(cls, value: dt.date) -> dt.date:
        if value.day != 1:
            raise ValueError("must be the first day of a month")
        return value


class SqlmeshSettings(_Section):
    project_path: Path
    gateway: Literal["duckdb", "spark"]
    state_path: Path
    start: dt.date
    #: a shared SQLMesh state database instead of the DuckDB file at state_path, as SQLMesh's
    #: connection settings, e.g. {type: postgres, host: ..., database: ..., user: ...}
    state_connection: dict[str, Any] | None = None


class SparkSettings(_Section):
    """Where the Spark gateway runs (used when `sqlmesh.gateway` is `spark`)."""

    #: spark.master: local[N] on this machine, spark://host:7077, yarn, k8s://... on a cluster
    master: str = "local[*]"
    #: a Spark Connect server (sc://host:15002); when set it is used instead of `master`
    connect_url: str | None = Field(default=None, pattern=r"^sc://\S+$")
    #: where Spark tables keep their Parquet files (shared storage on a cluster);
    #: None: `spark-warehouse` beside the warehouse file
    warehouse_dir: Path | None = None
    #: the local Derby catalogue of the Spark tables; None: `spark-metastore` beside the warehouse
    metastore_path: Path | None = None
    #: more Spark settings passed as they are, e.g. {"spark.driver.memory": "8g"}
    config: dict[str, str] = Field(default_factory=dict)


class SemanticSettings(_Section):
    backend: Literal["embedded", "cube"]
    model_path: Path
    cube_api_url: str
    #: who the caller is: `owner` (whoever can read the DuckDB file; a role is a declaration)
    #: or `token` (a verified JWT, CUSTINTEL_TOKEN / --token; see semantic/identity.py)
    identity: Literal["owner", "token"] = "owner"
    token_algorithm: Literal["HS256", "RS256"] = "HS256"
    token_audience: str | None = None
    token_issuer: str | None = None
    jwks_url: str | None = None  # RS256: keys from a JWKS endpoint
    token_public_key_path: Path | None = None  # RS256: or one PEM public key file
    reviewer_role: str = Field(default="analyst", min_length=1)  # `metrics diff` runs as it


class MlSettings(_Section):
    registry_path: Path
    seed: int
    retention_capacity: int = Field(gt=0)
    gross_margin_rate: float = Field(gt=0.0, le=1.0)
    test_snapshots: int = Field(default=3, gt=0)
    valid_snapshots: int = Field(default=1, gt=0)
    watch_lift: float = Field(default=2.0, gt=0.0)
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid"
    save_rate: float = Field(default=0.25, gt=0.0, le=1.0)
    contact_cost_amount: float = Field(default=15.0, ge=0.0)


class ReportsSettings(_Section):
    pages_path: Path
    site_path: Path
    site_role: str = Field(default="analyst", min_length=1)  # role the site's queries run as


class Settings(_Section):
    """All settings; relative paths are resolved against the folder of the config file."""

    root: Path = PROJECT_ROOT
    warehouse: WarehouseSettings
    landing: LandingSettings
    sample: SampleSettings
    sqlmesh: SqlmeshSettings
    semantic: SemanticSettings
    spark: SparkSettings = Field(default_factory=SparkSettings)
    ml: MlSettings
    reports: ReportsSettings

    @model_validator(mode="after")
    def _distinct_files(self) -> Settings:
        if self.warehouse_path == self.state_path:
            raise ValueError(
                f"warehouse.path and sqlmesh.state_path are the same file ({self.state_path}): "
                "the warehouse and the SQLMesh state need one file each"
            )
        return self

    def resolve(self, path: Path) -> Path:
        """An absolute path for a configured path (relative ones are under the config's folder)."""
        return path if path.is_absolute() else (self.root / path).resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.resolve(self.warehouse.path)

    @property
    def landing_path(self) -> Path:
        return self.resolve(self.landing.path)

    @property
    def sqlmesh_path(self) -> Path:
        return self.resolve(self.sqlmesh.project_path)

    @property
    def state_path(self) -> Path:
        return self.resolve(self.sqlmesh.state_path)

    @property
    def spark_warehouse_path(self) -> Path:
        configured = self.spark.warehouse_dir
        beside_warehouse = self.warehouse_path.parent / "spark-warehouse"
        return self.resolve(configured) if configured else beside_warehouse

    @property
    def spark_metastore_path(self) -> Path:
        configured = self.spark.metastore_path
        beside_warehouse = self.warehouse_path.parent / "spark-metastore"
        return self.resolve(configured) if configured else beside_warehouse

    @property
    def semantic_model_path(self) -> Path:
        return self.resolve(self.semantic.model_path)

    @property
    def registry_path(self) -> Path:
        return self.resolve(self.ml.registry_path)

    @property
    def pages_path(self) -> Path:
        return self.resolve(self.reports.pages_path)

    @property
    def site_path(self) -> Path:
        return self.resolve(self.reports.site_path)


def _section_fields(section: str) -> dict[str, Any]:
    field_info = Settings.model_fields.get(section)
    model = field_info.annotation if field_info else None
    return model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}


def _env_value(section: str, key: str, value: str) -> Any:
    """An override as the key's type wants it: the text itself (pydantic parses and validates
    numbers, dates, booleans and choices from text, so `12 # x` is an error, never 12); an
    empty value clears an optional key. Text is never parsed as YAML: a `#` in a path stays."""
    field_info = _section_fields(section).get(key)
    if value == "" and field_info is not None and not field_info.is_required():
        return None
    if field_info is not None and "dict" in str(field_info.annotation) and value.startswith("{"):
        # a mapping key (e.g. sqlmesh.state_connection) takes a YAML flow mapping
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise SettingsError(
                f"{ENV_PREFIX}{section.upper()}__{key.upper()}: not a mapping: {exc}"
            ) from exc
        if isinstance(parsed, dict):
            return parsed
    return value


def _apply_env_overrides(
    raw: dict[str, Any], environ: dict[str, str]
) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Apply `CUSTINTEL_<SECTION>__<KEY>` overrides; also return which variable set which key."""
    origins: dict[tuple[str, ...], str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, key = name[len(ENV_PREFIX) :].lower().split("__", 1)
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise SettingsError(f"environment override {name}: '{section}' is not a section")
        raw[section][key] = _env_value(section, key, value)
        origins[(section, key)] = name
    return raw, origins


def _describe(
    error: ValidationError,
    raw: dict[str, Any],
    source: str,
    origins: dict[tuple[str, ...], str] | None = None,
) -> str:
    """One line naming every bad key, its value and (for overrides) the variable that set it."""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        value: Any = raw
        for part in item["loc"]:
            value = value.get(part) if isinstance(value, dict) else None
        variable = (origins or {}).get(tuple(str(part) for part in item["loc"][:2]))
        where = f" (from {variable})" if variable else ""
        if not item["loc"]:  # a rule across keys: its message names them
            problems.append(item["msg"].removeprefix("Value error, "))
            continue
        problems.append(f"{key} = {value!r}{where}: {item['msg']}")
    return f"invalid settings in {source}: " + "; ".join(problems)


#: the environment variable a user can name the config file with (instead of `--config`)
CONFIG_ENV = "CUSTINTEL_CONFIG"


def config_file(path: Path | str | None = None) -> Path:
    """The config file to read: `path`, else $CUSTINTEL_CONFIG, else the project's config.yaml."""
    return Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH).resolve()


def load_settings(
    path: Path | str | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Read and validate settings; raise SettingsError naming every bad key and value."""
    config_path = config_file(path)
    try:
        raw = yaml.safe_load(config_path.read_text()) or {}
    except FileNotFoundError as exc:
        raise SettingsError(f"config file not found: {config_path}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"config file {config_path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"config file {config_path} must hold a mapping of sections")
    raw, origins = _apply_env_overrides(raw, dict(os.environ if environ is None else environ))
    try:
        return Settings(root=config_path.parent, **raw)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, raw, str(config_path), origins)) from exc
    except TypeError as exc:  # a section given as something other than a mapping
        raise SettingsError(f"invalid settings in {config_path}: {exc}") from exc


def write_relocated_config(
    build_dir: Path,
    source: Path = DEFAULT_CONFIG_PATH,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write `build_dir/config.yaml`: `source` with every output path moved under build_dir.

    Inputs that belong to the project (SQLMesh project, semantic model, report pages) keep
    pointing at the project; warehouse, state, landing, model registry and site move. Used by
    tests and the benchmark to build throw-away warehouses without touching the project's own.
    """
    raw = yaml.safe_load(source.read_text())
    root = source.resolve().parent
    build_dir = build_dir.resolve()
    moved = {
        ("warehouse", "path"): build_dir / "warehouse" / "novacom.duckdb",
        ("landing", "path"): build_dir / "landing",
        ("sqlmesh", "state_path"): build_dir / "warehouse" / "state.duckdb",
        ("ml", "registry_path"): build_dir / "models",
        ("reports", "site_path"): build_dir / "site",
    }
    kept = [("sqlmesh", "project_path"), ("semantic", "model_path"), ("reports", "pages_path")]
    for (section, key), path in moved.items():
        raw[section][key] = str(path)
    for section, key in kept:
        raw[section][key] = str((root / raw[section][key]).resolve())
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, default_flow_style=False))
    return path
