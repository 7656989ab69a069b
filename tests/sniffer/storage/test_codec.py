import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.records import Record, RecordError, record_from_dict, record_to_dict
from sniffer.storage.codec import decode, encode
from tests.db.factories import make_call, make_message, make_registration, make_stream
from tests.hypo import examples

RECORDS: list[Record] = [
    make_call(1),
    make_call(2, streams=0, dtmf=""),
    make_registration(3, code=None, expires=None),
    make_message(4),
    make_stream(5, 1),
    make_stream(6, 0),
]


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: type(r).__name__)
def test_round_trip(rec: Record) -> None:
    assert record_from_dict(record_to_dict(rec)) == rec
    line = encode(rec)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line) == rec


def test_message_from_key() -> None:
    d = record_to_dict(make_message(1))
    assert "from" in d and "from_" not in d
    assert record_from_dict(d) == make_message(1)


def test_odd_text_and_floats_survive() -> None:
    call = make_call(1)
    call.caller = "\udcff lone surrogate ☃\n"
    call.duration_s = math.inf
    call.streams[0].mos = math.nan
    back = decode(encode(call))
    assert isinstance(back, type(call))
    assert back.caller == call.caller and back.duration_s == math.inf
    assert math.isnan(back.streams[0].mos or 0.0)
    assert encode(call).isascii()


def test_unknown_keys_are_ignored() -> None:
    d = record_to_dict(make_registration(1))
    d["added_in_v2"] = 1
    assert record_from_dict(d) == make_registration(1)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "journal line is not JSON"),
        (b'{"type": "call"', "journal line is not JSON"),
        (b"[1, 2]", "record must be an object, got list"),
        (b'{"type": "fax"}', "unknown record type 'fax'"),
        (b'{"user": "x"}', "unknown record type None"),
        (b'{"type": "registration", "user": "x"}', "bad RegistrationRecord"),
        (b'{"type": "call", "streams": 3}', "call streams must be a list"),
        (b'{"type": "call", "streams": [1]}', "stream must be an object, got int"),
        (b'{"type": "stream", "rtcp": []}', "rtcp must be an object, got list"),
        (b"[" * 100_000, "journal line is not JSON"),
    ],
)
def test_bad_lines(line: bytes, message: str) -> None:
    with pytest.raises(RecordError) as info:
        decode(line)
    assert str(info.value).startswith(message)


@given(st.binary(max_size=300))
@settings(max_examples=examples(300))
def test_arbitrary_bytes_raise_only_record_error(data: bytes) -> None:
    try:
        decode(data)
    except RecordError:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.slow
@given(
    st.sampled_from(["call", "registration", "message", "stream", "x"]),
    st.dictionaries(
        st.sampled_from(["streams", "rtcp", "user", "from", "ts", "src_ip", "call_id", "uid"]),
        _json,
        max_size=6,
    ),
)
@settings(max_examples=examples(300))
def test_arbitrary_objects_raise_only_record_error(kind: str, body: dict[str, object]) -> None:
    try:
        record_from_dict({"type": kind, **body})
    except RecordError:
        pass
    try:
        decode(json.dumps({"type": kind, **body}).encode())
    except RecordError:
        pass


def test_unserialisable_record() -> None:
    call = make_call(1)
    call.flags = [b"bytes"]  # type: ignore[list-item]
    with pytest.raises(RecordError) as info:
        encode(call)
    assert str(info.value) == (
        "CallRecord cannot be serialised: Object of type bytes is not JSON serializable"
    )
