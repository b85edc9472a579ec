"""Read one landing file as its contract says: CSV (plain or compressed) and Parquet.

Files are opened by Python (pyarrow) and handed to DuckDB as Arrow data, so a file name reaches
no glob: `x[1].parquet` or `*.csv` is read as that one file. Every value keeps its meaning:

- timestamps and dates with a UTC offset are converted to UTC (a value without one is UTC);
  Parquet `TIMESTAMP WITH TIME ZONE` likewise (the loader's session time zone is UTC);
- CSV integers are digits with an optional sign, nothing else (`1.6`, `0x10`, `1e3`, `1_000` are
  errors); CSV doubles are decimal or scientific numbers, or NaN / Infinity (loaded as such and
  quarantined downstream as `non_finite:<column>`);
- bytes that are not UTF-8, a row with the wrong number of fields: the error names the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from custintel.core.landing.contract import Column
from custintel.core.landing.files import LandingError, LandingFile

ROW_NUMBER = "file_row_number"
PARQUET_BATCH_ROWS = 262_144

_INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}
_TIMESTAMPS = {
    "TIMESTAMP",
    "TIMESTAMP_NS",
    "TIMESTAMP_MS",
    "TIMESTAMP_S",
    "TIMESTAMP WITH TIME ZONE",
}
#: contract type -> physical types a Parquet file may carry for it (cast without loss)
COMPATIBLE_TYPES: dict[str, set[str]] = {
    "string": {"VARCHAR"},
    "integer": _INTEGERS,
    "double": _INTEGERS | {"FLOAT", "DOUBLE", "DECIMAL"},
    "boolean": {"BOOLEAN"},
    "date": {"DATE"} | _TIMESTAMPS,
    "timestamp": {"DATE"} | _TIMESTAMPS,
}

#: a CSV value that is a valid literal of the contract type (RE2, full match, after trim)
CSV_PATTERNS: dict[str, str] = {
    "integer": r"[+-]?[0-9]+",
    "double": r"(?i)[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?|nan|inf|infinity)",
}


def _base_type(duckdb_type: str) -> str:
    return duckdb_type.split("(")[0].strip().upper()


def check_columns(file: LandingFile, found: dict[str, str]) -> None:
    """Every contract column is present (and, in Parquet, of a compatible physical type)."""
    for column in file.table.columns:
        if column.name not in found:
            raise LandingError(file.path, "required column is missing", column=column.name)
        if file.format == "csv":
            continue
        physical = _base_type(found[column.name])
        if physical != '"NULL"' and physical not in COMPATIBLE_TYPES[column.type]:
            raise LandingError(
                file.path,
                f"expected {column.type} ({column.duckdb_type}), found {found[column.name]}",
                column=column.name,
            )


def value_sql(column: Column, source_is_text: bool) -> str:
    """The expression turning a landed value into its contract type (offsets -> UTC)."""
    name = f'"{column.name}"'
    if source_is_text and column.type in ("date", "timestamp"):
        return f"cast(cast(trim({name}) as timestamptz) as {column.duckdb_type})"
    if source_is_text and column.type != "string":
        return f"cast(trim({name}) as {column.duckdb_type})"
    return f"cast({name} as {column.duckdb_type})"


# --- CSV --------------------------------------------------------------------------------------


def _stream(file: LandingFile) -> pa.NativeFile:
    return pa.input_stream(str(file.path), compression=file.compression)


def _csv_records(file: LandingFile) -> Iterator[list[str]]:
    with _stream(file) as stream:
        text = stream.read().decode("utf-8-sig", errors="surrogateescape")
    yield from csv.reader(io.StringIO(text, newline=""))


def _has_bad_bytes(value: str) -> bool:
    return any("\udc80" <= character <= "\udcff" for character in value)


def _locate_csv_problem(file: LandingFile, cause: str) -> LandingError:
    """The first row (and column) a CSV file breaks, found with Python's csv module."""
    try:
        records = _csv_records(file)
        header = next(records, [])
        if any(_has_bad_bytes(name) for name in header):
            return LandingError(file.path, "header is not valid UTF-8 text", row=0)
        for row, record in enumerate(records, start=1):
            for index, value in enumerate(record):
                if _has_bad_bytes(value):
                    column = header[index] if index < len(header) else None
                    return LandingError(
                        file.path, "value is not valid UTF-8 text", row=row, column=column
                    )
            if record and len(record) != len(header):
                return LandingError(
                    file.path, f"{len(record)} fields, the header has {len(header)}", row=row
                )
    except (OSError, csv.Error, pa.ArrowInvalid) as exc:
        return LandingError(file.path, f"not a readable CSV file ({exc})")
    return LandingError(file.path, f"not a readable CSV file ({cause})")


def read_csv(file: LandingFile) -> pa.Table:
    """The whole CSV file, every column as text, plus its 0-based row number."""
    try:
        with _stream(file) as stream:
            names = pa_csv.open_csv(stream).schema.names
        with _stream(file) as stream:
            table = pa_csv.read_csv(
                stream,
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    strings_can_be_null=True,
                    null_values=[""],
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise _locate_csv_problem(file, str(exc).splitlines()[0]) from exc
    check_columns(file, {name: "VARCHAR" for name in table.schema.names})
    row_numbers = pa.array(np.arange(table.num_rows, dtype=np.int64))
    return table.append_column(ROW_NUMBER, row_numbers)


def check_csv_values(con: duckdb.DuckDBPyConnection, file: LandingFile, view: str) -> None:
    """Every non-empty CSV value is a valid literal of its contract type; name the first that
    is not (row = 1-based data row)."""
    for column in file.table.columns:
        if column.type == "string":
            continue
        name = f'"{column.name}"'
        text_type = "timestamptz" if column.type in ("date", "timestamp") else column.duckdb_type
        invalid = f"try_cast(trim({name}) as {text_type}) is null"
        if column.type in CSV_PATTERNS:
            pattern = CSV_PATTERNS[column.type].replace("'", "''")
            invalid = f"(not regexp_full_match(trim({name}), '{pattern}') or {invalid})"
        bad = con.execute(
            f"select {ROW_NUMBER} + 1, {name} from {view} "
            f"where {name} is not null and {invalid} order by {ROW_NUMBER} limit 1"
        ).fetchone()
        if bad:
            raise LandingError(
                file.path,
                f"value {bad[1]!r} is not a valid {column.type}",
                column=column.name,
                row=int(bad[0]),
            )


# --- Parquet ----------------------------------------------------------------------------------


def parquet_schema(con: duckdb.DuckDBPyConnection, file: LandingFile) -> dict[str, str]:
    """Column -> DuckDB type of a Parquet file, read from its footer only."""
    try:
        with open(file.path, "rb") as handle:
            schema = pq.ParquetFile(handle).schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise LandingError(file.path, f"not a readable Parquet file ({exc})") from exc
    con.register("_parquet_schema_probe", schema.empty_table())
    try:
        described = con.execute("describe select * from _parquet_schema_probe").fetchall()
    finally:
        con.unregister("_parquet_schema_probe")
    return {name: dtype for name, dtype, *_ in described}


def parquet_reader(file: LandingFile) -> pa.RecordBatchReader:
    """The contract columns of a Parquet file as a stream of batches, plus row numbers."""
    handle = open(file.path, "rb")  # noqa: SIM115 - closed when the stream ends
    try:
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowException, OSError) as exc:
        handle.close()
        raise LandingError(file.path, f"not a readable Parquet file ({exc})") from exc
    columns = file.table.column_names
    schema = pa.schema([parquet.schema_arrow.field(name) for name in columns]).append(
        pa.field(ROW_NUMBER, pa.int64())
    )

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        try:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
                numbers = pa.array(np.arange(offset, offset + batch.num_rows, dtype=np.int64))
                offset += batch.num_rows
                yield pa.RecordBatch.from_arrays([*batch.columns, numbers], schema=schema)
        finally:
            handle.close()

    return pa.RecordBatchReader.from_batches(schema, batches())
