"""docs/schema.md documents every column of every output table."""

from flows.sinks.schema import SCHEMA_VERSION, SCHEMAS
from tests.conftest import ROOT


def test_every_column_is_documented():
    doc = (ROOT / "docs/schema.md").read_text(encoding="utf-8")
    assert f"schema version {SCHEMA_VERSION}" in doc
    for table, schema in SCHEMAS.items():
        section = doc.split(f"## {table}\n", 1)[1].split("\n## ", 1)[0]
        missing = [f.name for f in schema if f"`{f.name}`" not in section]
        assert not missing, f"{table}: {missing}"
