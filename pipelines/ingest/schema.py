"""The warehouse shape of a contract: the typed columns of ``raw.<feed>`` (docs/architecture.md)."""
from __future__ import annotations

from pipelines.contracts import Column, Contract

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_file_id", "BIGINT"), ("_source_file", "VARCHAR"), ("_source_row", "BIGINT"), ("_row_hash", "VARCHAR"),
    ("_valid_from", "TIMESTAMP"), ("_valid_to", "TIMESTAMP"), ("_is_current", "BOOLEAN"),
)
PIPE_SIZE_COLUMNS = ("diameter_mm", "box_width_mm", "box_height_mm")

_SCALAR_TYPES = {
    "text": "VARCHAR", "district": "VARCHAR", "integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE",
    "timestamp": "TIMESTAMP", "year": "INTEGER", "list": "VARCHAR[]",
}


def fields(contract: Contract) -> tuple[Column, ...]:
    """The columns a record is checked on: the contract's columns, plus, for HJ 212, one value and one
    flag column per monitored factor (``cod_avg``, ``cod_flag``)."""
    extra: list[Column] = []
    for code, factor in contract.factors.items():
        name, zh = factor["name"], factor.get("zh", factor["name"])
        extra.append(Column(name=f"{name}_avg", zh=f"{zh}均值({code}-Avg)", type="decimal",
                            unit=factor.get("unit") or None, source_unit=factor.get("source_unit") or None,
                            range=tuple(factor["range"]) if factor.get("range") else None))
        extra.append(Column(name=f"{name}_flag", zh=f"{zh}数据标记({code}-Flag)", type="enum",
                            values={flag: flag for flag in contract.flags}))
    return tuple(contract.columns) + tuple(extra)


def enum_is_integer(column: Column) -> bool:
    return bool(column.values) and all(isinstance(v, int) and not isinstance(v, bool)
                                       for v in column.values.values())


def output_columns(column: Column, store_crs: str | None = None) -> list[tuple[str, str]]:
    """(name, SQL type) of the warehouse column(s) one contract column becomes."""
    if column.type == "pipe_size":
        return [(name, "INTEGER") for name in PIPE_SIZE_COLUMNS]
    if column.type == "geometry":
        return [(column.name, f"GEOMETRY('{store_crs}')" if store_crs else "GEOMETRY")]
    if column.type == "enum":
        return [(column.name, "INTEGER" if enum_is_integer(column) else "VARCHAR")]
    return [(column.name, _SCALAR_TYPES[column.type])]


def data_columns(contract: Contract) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for column in fields(contract):
        out.extend(output_columns(column, contract.store_crs))
    return out


def raw_columns(contract: Contract) -> list[tuple[str, str]]:
    return data_columns(contract) + list(LINEAGE_COLUMNS)
