"""What the real captures of the golden corpus raise (reviewed, then pinned): every call not
listed here must raise nothing.

Reviewed: the Wireshark sample's callee stream really stops for 5.8 s (tshark's max delta
5843.7 ms) while the caller's flows; the GRE mirror, Avaya TCP, IPv6, T.38, IP-in-IP and
WebSocket captures hold the signalling only (``no_rtp``), and the GRE mirror's phones announce
192.168.8.x behind a public address (``nat_mismatch``); the VoIPShark callee's RTP comes from
192.168.20.1 while its SDP says 192.168.5.151 (NAT); the aaa capture's INVITE rang 36.8 s with
no 18x until its 408 (``high_pdd``) and re-sent its CANCEL 4 times; the T.38 call's caller
sends PT 100 that neither SDP maps, its RTP starts 2.1 s after the 200 and its SIP is full of
retransmissions; the IP-in-IP capture never shows the ACK nor the BYE's answer.
"""

from __future__ import annotations

import pytest

from db.records import CallRecord
from tests.sniffer.golden import analyze, golden_files

PINNED: dict[str, dict[str, list[str]]] = {
    "sip_call_rtp_g711_wireshark_sample.pcap": {
        "12013223@200.57.7.195": ["one_way_audio"],
    },
    "sip_gre_teb_mirror.pcapng": {
        "ddd141f1d982d8989fb73db754a8fbb7@192.168.1.191": ["no_rtp", "nat_mismatch"],
        "bf3880-0-16e4-5af571fa-38bc4ba4-5af571fa@101.231.48.19": [
            "no_rtp",
            "nat_mismatch",
            "sip_retransmissions",
        ],
        "cdfef7c7647e97e4ff66fbf504c524e4@192.168.1.191": ["no_rtp", "nat_mismatch"],
    },
    "sip_ipv6_fragmented_sll.pcap": {
        "71846-1647924829-397430@fd17:625c:f037:2:a00:27ff:feb9:1521": ["no_rtp"],
    },
    "sip_register_auth_cancel_aaa.pcap": {
        "105090259-446faf7a@192.168.1.2": ["high_pdd", "sip_retransmissions"],
    },
    "sip_rtp_g711u_call_register_voipshark.pcap": {
        "54be7fcc-b009-4326-a81e-371a5a93c4b6": ["nat_mismatch"],
    },
    "sip_t38_fax_megaco_g711a.pcap": {
        "00e9d4a500e9d48-0015-0001-0000-0000@10.35.40.25": [
            "codec_mismatch",
            "late_media",
            "sip_retransmissions",
        ],
        "SD4909701-9ff11bf72eb4a347c92974d8fbbc2668-ao8o3i1": ["no_rtp"],
    },
    "sip_tcp6060_segmented_avaya_486_cancel.pcap": {
        "df3abe62-c8ed-4b11-8287-a44f021ae498": ["no_rtp"],
        "fa8ec971-f325-409a-bcf2-c9af49d26d8e": ["no_rtp"],
        "809021216592e81e4b05b37b77600": ["no_rtp"],
        "0ce9b153-e5f0-419c-83f4-654f1781a0bb": ["no_rtp"],
        "8014f9386592e8190b15b37b77600": ["no_rtp"],
        "ddcc448f-561e-4bb1-a003-950342ed1c17": ["no_rtp"],
        "005a5a6592e814fb25b37b77600": ["no_rtp"],
        "e07645c7-52c6-41fb-96bf-c0659cbe2bf8": ["no_rtp"],
        "17c0b3b3-dfd2-42ac-9018-6156179021c0": ["no_rtp"],
        "1a4c1cda-1eab-42e7-b8de-98626a5fd03a": ["no_rtp"],
        "05abc5c6592e8166b25b37b77600": ["no_rtp"],
        "61ab465a-07cc-4ea4-a56a-8a3ee7b96bdb": ["no_rtp"],
        "a25a0d41-6915-4f05-a661-bd13c93d0df3": ["no_rtp"],
        "12734481-9c53-4d08-b07e-eda87e9950ed": ["no_rtp"],
        "e9b3c4c3-ebb1-472f-a1d2-6e06099ac11b": ["no_rtp"],
        "06883a22-81fb-4bc3-ad93-2bcf489ecbb0": ["no_rtp"],
        "976b9838-7961-43d7-84a6-cb50130a402c": ["no_rtp"],
        "08aa9496592e81f3b15b37b77600": ["high_pdd"],
        "82b9b6a3-441c-4ed1-bde0-fa218429ffd7": ["no_rtp"],
        "3aab093a-5dfe-45b1-b25e-f24fca6e8079": ["no_rtp"],
        "0234a189-d0ab-41a9-879d-f08b6302060b": ["no_rtp"],
        "0e81616592e818cb25b37b77600": ["no_rtp"],
        "3717b920-957d-48b3-ae64-aa4ce117b1b8": ["no_rtp"],
    },
    "sip_tcp_in_ipip.pcap": {
        "1RLuVzzBClYCf2": ["no_rtp", "no_ack", "bye_unanswered"],
    },
    "sip_websocket_and_udp.pcap": {
        "kovfhoptshgn59q712sr": ["no_rtp"],
        "926ffd16-6154-1237-09ba-0270b3230128": ["no_rtp", "sip_retransmissions"],
    },
}


@pytest.mark.parametrize("name", golden_files())
def test_golden_capture_problems_are_pinned(name: str) -> None:
    records, _counters = analyze(name)
    got = {
        r.call_id: [p.code for p in r.problems]
        for r in records
        if isinstance(r, CallRecord) and r.problems
    }
    assert got == PINNED.get(name, {})
    for r in records:
        if isinstance(r, CallRecord):
            assert all(p.detail for p in r.problems)
