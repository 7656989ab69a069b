import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.spool.naming import call_hash, call_pcap_relpath, safe_name
from tests.hypo import examples

_NAME = re.compile(r"^[A-Za-z0-9_@+\-][A-Za-z0-9._@+\-]{0,119}-[0-9a-f]{10}\.pcap(\.gz)?$")


def test_layout_is_utc_date_hour_minute() -> None:
    rel = call_pcap_relpath("a84b4c76e66710@pc33.atlanta.com", 1795676263.25, False)
    assert rel == (
        "2026-11-26/06/57/a84b4c76e66710@pc33.atlanta.com-"
        + call_hash("a84b4c76e66710@pc33.atlanta.com", 1795676263.25)
        + ".pcap"
    )
    assert call_pcap_relpath("x", 0.0, True).startswith("1970-01-01/00/00/x-")
    assert call_pcap_relpath("x", 0.0, True).endswith(".pcap.gz")


@pytest.mark.parametrize(
    ("call_id", "name"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b", "a_b"),
        ("nul\x00byte", "nul_byte"),
        ("...hidden", "hidden"),
        ("....", "call"),
        ("", "call"),
        ("ünïcødé-日本@host", "_n_c_d_-__@host"),
        ("a b\tc\r\n", "a_b_c__"),
        ("keep.A-z_0@+9", "keep.A-z_0@+9"),
        ("x" * 500, "x" * 120),
    ],
)
def test_safe_name(call_id: str, name: str) -> None:
    assert safe_name(call_id) == name


def test_hash_separates_calls_with_the_same_safe_name() -> None:
    names = {call_pcap_relpath(c, 1.0, False) for c in ["a/b", "a\\b", "a b", "a_b", "a\x00b"]}
    assert len(names) == 5
    assert call_pcap_relpath("a", 1.0, False) != call_pcap_relpath("a", 1.5, False)
    assert call_pcap_relpath("a", 1.0, False) == call_pcap_relpath("a", 1.0, False)


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), -float("inf"), 1e300, -1.5])
def test_absurd_start_times_still_give_a_path(ts: float) -> None:
    rel = call_pcap_relpath("id", ts, False)
    assert _NAME.match(rel.split("/")[-1])


@settings(max_examples=examples(400))
@given(st.text(), st.floats(allow_nan=True, allow_infinity=True), st.booleans())
def test_always_safe(call_id: str, ts: float, gz: bool) -> None:
    rel = call_pcap_relpath(call_id, ts, gz)
    parts = rel.split("/")
    assert len(parts) == 4
    assert re.fullmatch(r"\d{4,}-\d\d-\d\d", parts[0])
    assert re.fullmatch(r"\d\d", parts[1]) and re.fullmatch(r"\d\d", parts[2])
    assert _NAME.match(parts[3])
    assert rel.endswith(".pcap.gz" if gz else ".pcap")
    root = "/spool/root"
    assert os.path.normpath(os.path.join(root, rel)) == os.path.join(root, rel)
