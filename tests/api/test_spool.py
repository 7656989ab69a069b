"""Pcap paths from rows resolve inside the spool only."""

import os
from pathlib import Path

import pytest

from api.errors import ApiError
from api.spool import call_pcap


def _msg(spool: Path | None, rel: str | None) -> str:
    with pytest.raises(ApiError) as exc:
        call_pcap(spool, rel)
    assert exc.value.status == 404
    return exc.value.message


def test_resolves_inside(tmp_path: Path) -> None:
    (tmp_path / "2026-01-01" / "10").mkdir(parents=True)
    f = tmp_path / "2026-01-01" / "10" / "a.pcap"
    f.write_bytes(b"x")
    assert call_pcap(tmp_path, "2026-01-01/10/a.pcap") == f.resolve()
    assert call_pcap(tmp_path, str(f)) == f.resolve()  # absolute, but inside


def test_tricks_are_refused(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    secret = tmp_path / "secret.pcap"
    secret.write_bytes(b"x")
    (spool / "link.pcap").symlink_to(secret)
    (spool / "dirlink").symlink_to(tmp_path)
    outside = "the call's pcap path is outside the spool"
    assert _msg(spool, "../secret.pcap") == outside
    assert _msg(spool, "a/../../secret.pcap") == outside
    assert _msg(spool, str(secret)) == outside
    assert _msg(spool, "link.pcap") == outside
    assert _msg(spool, "dirlink/secret.pcap") == outside
    assert _msg(spool, "/etc/passwd") == outside
    assert _msg(spool, ".") == outside  # a directory
    assert _msg(spool, "x\x00y") == outside
    assert _msg(spool, "missing.pcap") == "the call's pcap is no longer in the spool (retention)"
    assert _msg(spool, None) == "this call has no pcap (the sensor ran without a spool)"
    assert _msg(None, "a.pcap") == "this API has no spool directory (callsift api --spool DIR)"
    assert os.path.exists(secret)
