"""bench/zuora_stream.py emits what tap-zuora 1.6.1 emits; the demo tap's sample is its output.

The demo tap itself (incremental runs, closed pipe) is tested in test_demo_tap.py.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest
from file_modules import import_file

REPO = Path(__file__).parents[2]
DEMO = REPO / "demo" / "tap-zuora-sample" / "tap_zuora_sample"
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


@functools.cache
def generator() -> ModuleType:
    return import_file("zuora_stream", REPO / "bench" / "zuora_stream.py")


@functools.cache
def messages(records: int = 40, seed: int = 3) -> list[dict[str, Any]]:
    return [json.loads(line) for line in generator().iter_lines(records, seed=seed)]


def test_lines_are_json_dumps_of_the_message() -> None:
    for line in generator().iter_lines(30, seed=1):
        assert json.dumps(json.loads(line)) == line


def test_same_seed_same_bytes_other_seed_other_ids() -> None:
    run = "\n".join(generator().iter_lines(20, seed=5))
    assert run == "\n".join(generator().iter_lines(20, seed=5))
    assert run != "\n".join(generator().iter_lines(20, seed=6))


def test_demo_sample_is_the_generators_output() -> None:
    """The bundled sample is `zuora_stream.py --records 75 --seed 7`, byte for byte."""
    out = io.StringIO()
    generator().write_stream(out, 75, seed=7)
    assert (DEMO / "sample.singer").read_text(encoding="utf-8") == out.getvalue()


def test_message_order_is_the_taps() -> None:
    kinds = [(m["type"], m.get("stream")) for m in messages()]
    streams = list(generator().STREAMS)
    assert [s for t, s in kinds if t == "SCHEMA"] == streams
    for i, (kind, stream) in enumerate(kinds):
        if kind == "RECORD":
            assert kinds[i + 1] == ("STATE", None), "a STATE after every record"
            assert ("SCHEMA", stream) in kinds[:i]
    assert Counter(s for t, s in kinds if t == "RECORD") == dict.fromkeys(streams, 40)
    assert messages()[-1]["value"]["current_stream"] is None


def test_schemas_have_the_taps_shape() -> None:
    for stream in generator().STREAMS:
        message = generator().schema_message(stream)
        schema = message["schema"]
        assert message["key_properties"] == ["Id"]
        assert "bookmark_properties" not in message
        assert schema["additionalProperties"] is False
        props = schema["properties"]
        assert props["Id"] == {"type": ["string", "null"]}
        assert props["UpdatedDate"] == {"format": "date-time", "type": ["string", "null"]}
        assert props["Deleted"] == {"type": "boolean"}
        assert {} in props.values(), "an unsupported field"
        jsonschema.Draft7Validator.check_schema(schema)
    assert 30 <= len(generator().schema_message("Invoice")["schema"]["properties"]) <= 36


@pytest.mark.parametrize("stream", ["Account", "Invoice", "InvoiceItem", "Subscription"])
def test_records_conform_to_their_schema(stream: str) -> None:
    props = generator().schema_message(stream)["schema"]["properties"]
    validator = jsonschema.Draft7Validator(generator().schema_message(stream)["schema"])
    records = [m["record"] for m in messages() if m.get("stream") == stream and "record" in m]
    for record in records:
        validator.validate(record)
        assert not [k for k, v in props.items() if v == {} and k in record]
        for name, value in record.items():
            if props[name].get("format") == "date-time" and value is not None:
                assert DATETIME.match(value), (name, value)
            if "number" in props[name].get("type", []) and value is not None:
                assert round(value, 2) == value, (name, value)
        assert re.fullmatch(r"[0-9a-f]{32}", record["Id"])
    updated = [r["UpdatedDate"] for r in records]
    assert updated == sorted(updated)
    assert len({r["Id"] for r in records}) == len(records)


def test_state_bookmarks_follow_the_records() -> None:
    previous: dict[str, Any] = {}
    for message in messages():
        if message["type"] == "RECORD":
            previous = message
        elif message["type"] == "STATE":
            bookmarks = message["value"]["bookmarks"]
            assert set(bookmarks) == set(generator().STREAMS)
            if previous:
                bookmark = bookmarks[previous["stream"]]["UpdatedDate"]
                assert bookmark == previous["record"]["UpdatedDate"]


def test_references_point_at_generated_records() -> None:
    ids = {
        s: {m["record"]["Id"] for m in messages() if m.get("stream") == s and "record" in m}
        for s in generator().STREAMS
    }
    for m in messages():
        if m["type"] == "RECORD" and m["stream"] != "Account":
            assert m["record"]["AccountId"] in ids["Account"]
        if m["type"] == "RECORD" and m["stream"] == "InvoiceItem":
            assert m["record"]["InvoiceId"] in ids["Invoice"]
            assert m["record"]["SubscriptionId"] in ids["Subscription"]


def test_cli_writes_the_same_stream(tmp_path: Path) -> None:
    out = tmp_path / "s.singer"
    assert generator().main(["--records", "5", "--streams", "Invoice", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == list(generator().iter_lines(5, ["Invoice"]))
    with pytest.raises(ValueError, match="unknown stream"):
        list(generator().iter_lines(1, ["Nope"]))
