"""The ladder of real calls: golden captures read by the API's own code path (the pcap reader
and the ``/calls/{id}/sip`` item builder, without the database), serialised as the route does,
rendered; its ``.msg`` count equals tshark's SIP message count for the Call-ID."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from api.pcap.flow import call_flow
from api.routes.callfiles import _hosts, flow_items
from api.schemas.calls import SipFlow
from gui.ladder import Flow, build_ladder, render_svg, render_text

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
TSHARK: dict[str, list[dict[str, Any]]] = json.loads((GOLDEN / "tshark_sip.json").read_text())
CAPTURES = (
    "sip_rtp_g711u_call_register_voipshark.pcap",
    "sip_tcp6060_segmented_avaya_486_cancel.pcap",
    "sip_call_rtp_g711_wireshark_sample.pcap",
    "sip_register_auth_cancel_aaa.pcap",
    "sip_websocket_and_udp.pcap",
)
CASES = [(name, e["call_id"], e["messages"]) for name in CAPTURES for e in TSHARK[name]]


def api_sip_json(name: str, call_id: str) -> dict[str, Any]:
    """What ``GET /calls/{id}/sip?raw=1`` answers for that Call-ID of the capture."""
    msgs = call_flow([GOLDEN / name], {call_id})
    flow = SipFlow(
        call_ids=[call_id],
        hosts=_hosts(msgs, {}),
        items=flow_items([(m, 1) for m in msgs], True),
        truncated=False,
    )
    data: dict[str, Any] = json.loads(flow.model_dump_json())
    return data


def msg_count(svg: str) -> int:
    return sum("msg" in (e.get("class") or "").split() for e in ET.fromstring(svg).iter())


@pytest.mark.parametrize(
    ("name", "call_id", "expected"), CASES, ids=[f"{n}:{c[:12]}" for n, c, _ in CASES]
)
def test_ladder_has_one_msg_per_tshark_sip_message(name: str, call_id: str, expected: int) -> None:
    lad = build_ladder(Flow.from_api(api_sip_json(name, call_id)))
    assert msg_count(render_svg(lad)) == expected
    assert (
        msg_count(render_svg(build_ladder(Flow.from_api(api_sip_json(name, call_id)), split=True)))
        == expected
    )
    assert len(render_text(lad).splitlines()) >= 2 * expected


def test_retransmitted_ringing_of_a_real_call() -> None:
    lad = build_ladder(Flow.from_api(api_sip_json(CAPTURES[0], "3cfe1c77155241bb89eb003ab8e2f87b")))
    assert [(r.n, r.label, r.retrans_of) for r in lad.rows if r.retrans] == [(7, "180 Ringing", 6)]
    assert [c.user_agents for c in lad.columns] == [
        ("MicroSIP/3.18.2",),
        ("FPBX-13.0.194.2(13.12.1)",),
    ]
    assert lad.rows[0].msg.raw is not None and lad.rows[0].msg.raw.startswith("INVITE sip:")


@pytest.mark.slow
def test_counts_agree_with_a_live_tshark_run() -> None:
    name = CAPTURES[0]
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(GOLDEN / name),
            "-Y",
            "sip && !icmp",
            "-T",
            "fields",
            "-e",
            "sip.Call-ID",
            "-E",
            "occurrence=a",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    counts = Counter(c for line in out.splitlines() for c in line.split(",") if c)
    assert len(counts) == len(TSHARK[name])
    for call_id, n in counts.items():
        assert msg_count(render_svg(build_ladder(Flow.from_api(api_sip_json(name, call_id))))) == n
