"""The ladder of real calls: golden captures read by the API's own code path (the pcap reader
and the ``/calls/{id}/sip`` item builder, without the database), serialised as the route does,
rendered; its ``.msg`` count equals tshark's SIP message count for each Call-ID."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from api.pcap.flow import FlowMessage, call_flow
from api.routes.callfiles import _hosts, flow_items
from api.schemas.calls import SipFlow
from gui.ladder import Flow, build_ladder, render_svg, render_text

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
TSHARK: dict[str, list[dict[str, Any]]] = json.loads((GOLDEN / "tshark_sip.json").read_text())
CAPTURES = sorted(name for name, entries in TSHARK.items() if entries)
VOIPSHARK = "sip_rtp_g711u_call_register_voipshark.pcap"
TSHARK_FIELDS = (
    "tshark",
    "-Y",
    "sip && !icmp",
    "-T",
    "fields",
    "-e",
    "sip.Call-ID",
    "-E",
    "occurrence=a",
    "-r",
)


def api_sip_json(name: str, call_id: str, msgs: list[FlowMessage] | None = None) -> dict[str, Any]:
    """What ``GET /calls/{id}/sip?raw=1`` answers for that Call-ID of the capture (``msgs``: the
    capture's flow, when already read)."""
    if msgs is None:
        msgs = call_flow([GOLDEN / name], {call_id})
    mine = [m for m in msgs if m.call_id == call_id]
    flow = SipFlow(
        call_ids=[call_id],
        hosts=_hosts(mine, {}),
        items=flow_items([(m, 1) for m in mine], True),
        truncated=False,
    )
    data: dict[str, Any] = json.loads(flow.model_dump_json())
    return data


def msg_count(svg: str) -> int:
    return sum("msg" in (e.get("class") or "").split() for e in ET.fromstring(svg).iter())


@pytest.mark.parametrize("name", CAPTURES)
def test_ladder_has_one_msg_per_tshark_sip_message(name: str) -> None:
    """Every Call-ID of every golden capture with SIP (tshark's figures; HEP ones from the
    corpus' HEP3 decoder), ports folded and split."""
    msgs = call_flow([GOLDEN / name], None)
    for entry in TSHARK[name]:
        data = api_sip_json(name, entry["call_id"], msgs)
        lad = build_ladder(Flow.from_api(data))
        assert msg_count(render_svg(lad)) == entry["messages"], entry["call_id"]
        split = build_ladder(Flow.from_api(data), split=True)
        assert msg_count(render_svg(split)) == entry["messages"], entry["call_id"]
        assert len(render_text(lad).splitlines()) >= 2 * entry["messages"]


def test_retransmitted_ringing_of_a_real_call() -> None:
    lad = build_ladder(Flow.from_api(api_sip_json(VOIPSHARK, "3cfe1c77155241bb89eb003ab8e2f87b")))
    assert [(r.n, r.label, r.retrans_of) for r in lad.rows if r.retrans] == [(7, "180 Ringing", 6)]
    assert [c.user_agents for c in lad.columns] == [
        ("MicroSIP/3.18.2",),
        ("FPBX-13.0.194.2(13.12.1)",),
    ]
    assert lad.rows[0].msg.raw is not None and lad.rows[0].msg.raw.startswith("INVITE sip:")


@pytest.mark.slow
def test_counts_agree_with_a_live_tshark_run() -> None:
    out = subprocess.run(
        [*TSHARK_FIELDS, str(GOLDEN / VOIPSHARK)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    counts = Counter(c for line in out.splitlines() for c in line.split(",") if c)
    assert len(counts) == len(TSHARK[VOIPSHARK])
    msgs = call_flow([GOLDEN / VOIPSHARK], None)
    for call_id, n in counts.items():
        lad = build_ladder(Flow.from_api(api_sip_json(VOIPSHARK, call_id, msgs)))
        assert msg_count(render_svg(lad)) == n
