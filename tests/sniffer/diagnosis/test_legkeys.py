"""Correlation keys read from SIP header values: exact cases and any text."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from sniffer.diagnosis.legkeys import (
    MAX_KEYS,
    NULL_UUID,
    KeySet,
    icid_value,
    read_keys,
    session_uuids,
)
from sniffer.sip.message import SipMessage

A = "ab30317f1a784dc48ff824d0d3715d86"
B = "47755a9de7794ba387653f2099600ef2"


def test_session_id_local_and_remote() -> None:
    assert session_uuids(f"{A.upper()};remote={B}") == [A, B]
    assert session_uuids(f"{A} ; remote = {NULL_UUID} ;x=1") == [A]
    assert session_uuids(f"{NULL_UUID};remote={NULL_UUID}") == []
    assert session_uuids("legacy-7329-id") == ["legacy-7329-id"]
    assert session_uuids("not-a-uuid;remote=also-not") == []


def test_icid_value() -> None:
    assert icid_value("icid-value=1234bc9876e;icid-generated-at=192.0.6.8") == "1234bc9876e"
    assert icid_value('orig-ioi=home1.net; ICID-Value = "AyretyU0dm+6O2IrT5tAFrbHLso="') == (
        "AyretyU0dm+6O2IrT5tAFrbHLso="
    )
    assert icid_value("orig-ioi=home1.net") is None


def test_read_keys_from_a_message_and_bounds() -> None:
    headers = "".join(f"X-CID: v{i}\r\n" for i in range(MAX_KEYS + 3))
    msg = SipMessage.parse(
        (
            "INVITE sip:b@h SIP/2.0\r\nCall-ID: c1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n"
            f"CSeq: 1 INVITE\r\n{headers}x-call-id:  v0 \r\nSession-ID: {A}\r\n"
            "P-Charging-Vector: icid-value=77\r\n\r\n"
        ).encode()
    )
    keys = KeySet()
    read_keys(keys, msg, ("x-cid", "x-call-id"))
    assert keys.cids == [f"v{i}" for i in range(MAX_KEYS)]
    assert (keys.session_ids, keys.icids) == ([A], ["77"])


@given(st.text(max_size=200))
def test_any_header_text(value: str) -> None:
    for u in session_uuids(value):
        assert u == u.lower() and u != NULL_UUID
        assert re.fullmatch(r"[0-9a-f]{32}", u) or ";" not in value
    icid = icid_value(value)
    assert icid is None or (";" not in icid and '"' not in icid)
