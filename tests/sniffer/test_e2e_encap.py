"""End to end: the same multi-call scenario through every encapsulation of the generator gives
the same records as the plain capture; fragmented and TCP-segmented SIP reassemble; garbage
frames of every link type never crash the analyzer and do not disturb a good call."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.records import CallRecord, Record, record_to_dict
from sniffer.analyzer import Analyzer
from sniffer.netaddr import text_to_ip
from tests.hypo import examples
from tests.pcapgen import (
    ENCAPSULATIONS,
    ETH_P_IP,
    IPPROTO_UDP,
    Call,
    EncapOptions,
    MediaOpts,
    Party,
    Scenario,
    encapsulate,
    ethernet,
    fragment_ipv4,
    ipv4,
    ipv6_for,
    udp,
)
from tests.sniffer.e2e import (
    T0,
    Run,
    analyze_frames,
    analyze_scenario,
    assert_call,
    multi_call_scenario,
)

V6_ENCAPS = ("ipv6", "6in4", "frag6")
TCP_OPTIONS = {
    "tcp-shuffled": EncapOptions(tcp_shuffle=True, tcp_segment=60, seed=3),
    "tcp-coalesced": EncapOptions(tcp_coalesce=True, tcp_segment=500, seed=4),
    "tcp-both": EncapOptions(tcp_shuffle=True, tcp_coalesce=True, tcp_segment=90, seed=5),
}


@cache
def plain() -> Run:
    return analyze_scenario(multi_call_scenario())


def _v6(value: Any) -> Any:
    """Every IPv4 literal in a record (dict) becomes the address the generator gives it."""
    if isinstance(value, dict):
        return {k: _v6(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_v6(v) for v in value]
    if isinstance(value, str):
        if text_to_ip(value) is not None and ":" not in value:
            return ipv6_for(value)
        host, _, port = value.partition(":")
        if port.isdigit() and text_to_ip(host) is not None:  # an ip:port media key
            return f"[{ipv6_for(host)}]:{port}"
        for v4 in ("10.0.0.1", "10.0.0.2", "10.0.0.9"):
            value = value.replace(f"@{v4}", f"@[{ipv6_for(v4)}]")
    return value


def _comparable(rec: Record, how: str) -> dict[str, Any]:
    """The record as the plain capture's run must give it for encapsulation ``how``."""
    d = record_to_dict(rec)
    if how in V6_ENCAPS:
        d = _v6(d)
    if d["type"] == "call":
        if how.startswith("tcp"):
            d["transport"] = "tcp"
        if how in ("vlan", "qinq"):
            d["vlan"] = 100
    return d


def _by_key(records: list[Record]) -> dict[tuple[str, str, float], Record]:
    out: dict[tuple[str, str, float], Record] = {}
    for r in records:
        d = record_to_dict(r)
        key = (d["type"], d.get("call_id", ""), d.get("ts", 0.0))
        assert key not in out, f"duplicate record {key}"
        out[key] = r
    return out


def test_plain_capture_matches_the_truth() -> None:
    scen, run = multi_call_scenario(), plain()
    assert sorted(run.calls) == ["c1@e2e", "c2@e2e", "c3@e2e", "c4@e2e"]
    for truth in scen.calls:
        assert_call(run.call(truth.call_id), truth, scen)
    (reg,) = run.registrations
    assert (reg.user, reg.result_code, reg.challenged) == ("carol", 200, True)
    (msg,) = run.messages
    assert (msg.body, msg.result_code) == ("hello", 200)
    assert run.orphan_streams == []


@pytest.mark.parametrize("how", [h for h in ENCAPSULATIONS if h != "plain"] + list(TCP_OPTIONS))
def test_every_encapsulation_gives_the_plain_records(how: str) -> None:
    base = plain()
    options = TCP_OPTIONS.get(how)
    run = analyze_scenario(multi_call_scenario(), "tcp" if options else how, options=options)
    got = _by_key(run.records)
    want = _by_key(base.records)
    assert sorted(got) == sorted(want)
    for key, rec in want.items():
        assert record_to_dict(got[key]) == _comparable(rec, how), key
    calls = run.calls
    expect_vlan = 100 if how in ("vlan", "qinq") else None
    assert {c.vlan for c in calls.values()} == {expect_vlan}
    assert run.counters["rtp.unbound_packets"] == 0
    assert run.analyzer.decoder.stats()["frag_sets"] == 0


def test_ipv4_fragmented_sip_reassembles_in_any_fragment_order() -> None:
    """Every SIP datagram of a call split in 200-byte fragments, sent last fragment first."""
    scen = Call(call_id="frag@e2e", dtmf="3").build()
    frames: list[tuple[float, bytes]] = []
    ident = 0x4000
    fragmented = 0
    for p in scen.packets:
        ip = ipv4(p.src, p.dst, IPPROTO_UDP, udp(p.sport, p.dport, p.payload, src=p.src, dst=p.dst),
                  ident=ident)  # fmt: skip
        ident += 1
        parts = fragment_ipv4(ip, 200) if p.kind == "sip" else [ip]
        if len(parts) > 1:
            fragmented += 1
            parts = parts[::-1]
        frames += [(p.ts, ethernet(x, ETH_P_IP)) for x in parts]
    assert fragmented == scen.sip_count()
    run = analyze_frames(1, frames)
    assert_call(run.call("frag@e2e"), scen.calls[0], scen)
    assert run.analyzer.decoder.stats()["frag_sets"] == 0


def test_sip_over_segmented_tcp_reassembles() -> None:
    scen = Call(call_id="tcp@e2e", transport="tcp", info_dtmf="12", talk_s=2.0).build()
    for seg, shuffle in ((7, False), (31, True)):
        opts = EncapOptions(tcp_segment=seg, tcp_shuffle=shuffle, seed=seg)
        linktype, frames = encapsulate(scen.packets, "tcp", opts)
        rtp = len(scen.packets) - scen.sip_count()
        assert len(frames) - rtp > 10 * scen.sip_count()  # really segmented
        run = analyze_frames(linktype, frames)
        assert_call(run.call("tcp@e2e"), scen.calls[0], scen)
        assert run.calls["tcp@e2e"].transport == "tcp"


# -- robustness ---------------------------------------------------------------------------

LINKTYPES = (1, 113, 276, 101, 12, 0, 108, 228, 229)
"""Ethernet, Linux SLL, SLL2, raw (101 and BSD's 12), NULL, LOOP, IPv4, IPv6."""
LATER = T0 + 1000.0
"""Start of the good call fed after the garbage."""


@cache
def good_call(start: float = T0) -> Scenario:
    return Call(call_id=f"good-{start:.0f}@e2e", start=start, rtcp=True, info_dtmf="5",
                reinvite="port", callee_media=MediaOpts(duplicates=frozenset({4})),
                caller=Party("alice", "10.0.0.1", rtp_port=40000),
                callee=Party("bob", "10.0.0.2", rtp_port=50000)).build()  # fmt: skip


@cache
def good_frames(linktype: int, start: float = T0) -> list[tuple[float, bytes]]:
    """The good call framed for ``linktype`` (228/229: bare IPv4/IPv6 packets)."""
    packets = good_call(start).packets
    if linktype == 229:
        return [(ts, f[14:]) for ts, f in encapsulate(packets, "ipv6").frames]
    how = {1: "plain", 113: "sll", 276: "sll2", 101: "raw", 12: "raw", 228: "raw", 0: "null",
           108: "loop"}[linktype]  # fmt: skip
    return encapsulate(packets, how).frames


def _feed_one_by_one(analyzer: Analyzer, frames: list[tuple[float, bytes]]) -> None:
    for ts, frame in frames:
        analyzer.feed([(ts, frame)])  # one at a time: an exception names the frame


def _still_works(linktype: int, analyzer: Analyzer, records: list[Record]) -> None:
    """After garbage, a good call (other time, same addresses) is still reported exactly."""
    before = len(records)
    analyzer.feed(good_frames(linktype, LATER))
    analyzer.finish()
    scen = good_call(LATER)
    (truth,) = scen.calls
    # a mutated frame of the garbage may carry this Call-ID (a digit flipped): its call began
    # long before, so only the record of the call that starts now counts
    got = [
        r
        for r in records[before:]
        if isinstance(r, CallRecord) and r.call_id == truth.call_id and r.invite_ts >= LATER
    ]
    assert len(got) == 1
    if linktype == 229:  # IPv6 addresses: compare what does not name them
        assert (got[0].final_code, got[0].state, got[0].dtmf) == (200, "completed", "5")
        assert sorted(s.packets for s in got[0].streams) == sorted(
            s.expected.packets for s in truth.streams
        )
    else:
        assert_call(got[0], truth, scen)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    linktype=st.sampled_from(LINKTYPES),
    frames=st.lists(st.binary(max_size=120), min_size=1, max_size=40),
)
def test_random_bytes_never_crash_any_link_type(linktype: int, frames: list[bytes]) -> None:
    records: list[Record] = []
    analyzer = Analyzer(linktype, records.append)
    _feed_one_by_one(analyzer, [(T0 + i * 0.01, f) for i, f in enumerate(frames)])
    assert analyzer.packets == len(frames)
    _still_works(linktype, analyzer, records)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    linktype=st.sampled_from(LINKTYPES),
    prefix=st.sampled_from([b"", b"\x08\x00", b"\x45\x00", b"\x60\x00", b"\x00\x00\x00\x02"]),
    body=st.binary(min_size=0, max_size=90),
)
def test_plausible_headers_with_random_bodies_never_crash(
    linktype: int, prefix: bytes, body: bytes
) -> None:
    """Frames that get past the first checks: an IPv4/IPv6 ethertype at offset 12, an IP
    version nibble at offset 0, a NULL family word."""
    frames = [body[:12] + prefix + body[12:], prefix + body, prefix + body[:4]]
    analyzer = Analyzer(linktype, lambda r: None)
    _feed_one_by_one(analyzer, [(T0 + i, f) for i, f in enumerate(frames)])
    analyzer.finish()


def _mutate(rnd: random.Random, frames: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Bit flips, truncations and byte overwrites of ~60% of the frames."""
    out: list[tuple[float, bytes]] = []
    for ts, frame in frames:
        b = bytearray(frame)
        r = rnd.random()
        if r < 0.3:
            for _ in range(rnd.randint(1, 4)):
                b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif r < 0.5:
            del b[rnd.randrange(len(b) + 1) :]
        elif r < 0.6:
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        out.append((ts, bytes(b)))
    return out


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linktype=st.sampled_from(LINKTYPES), seed=st.integers(0, 2**32 - 1))
def test_mutated_sip_and_rtp_frames_never_crash(linktype: int, seed: int) -> None:
    frames = _mutate(random.Random(seed), good_frames(linktype))
    records: list[Record] = []
    analyzer = Analyzer(linktype, records.append)
    _feed_one_by_one(analyzer, frames)
    assert analyzer.packets == len(frames)
    _still_works(linktype, analyzer, records)


def test_problems_are_counted() -> None:
    frames = good_frames(1)
    bad = [(ts, f[: len(f) // 3]) for ts, f in frames[:40]]  # truncated SIP and RTP
    bad += [(T0 + 1, b"\x00" * 5), (T0 + 1, bytes(range(60)))]
    run = analyze_frames(1, bad)
    assert run.calls == {}
    assert run.counters["decode.truncated_ipv4"] + run.counters["decode.truncated_ethernet"] > 0
    assert sum(v for k, v in run.counters.items() if k.startswith("decode.")) >= len(bad) - 2


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_garbage_interleaved_with_a_good_call_changes_nothing(seed: int) -> None:
    scen, frames = good_call(), good_frames(1)
    rnd = random.Random(seed)
    mixed: list[tuple[float, bytes]] = []
    for ts, frame in frames:
        mixed.append((ts, frame))
        for _ in range(rnd.randint(0, 2)):
            n = rnd.randint(0, 100)
            junk = bytes(rnd.getrandbits(8) for _ in range(n))
            if rnd.random() < 0.5 and n > 34:  # valid Ethernet/IPv4/UDP with junk inside
                junk = ethernet(ipv4("10.66.0.1", "10.66.0.2", IPPROTO_UDP,
                                     udp(rnd.choice((5060, 40000, 9)), 5060, junk,
                                         src="10.66.0.1", dst="10.66.0.2")), ETH_P_IP)  # fmt: skip
            mixed.append((ts, junk))
    run = analyze_frames(1, mixed)
    (truth,) = scen.calls
    assert list(run.calls) == [truth.call_id]
    assert_call(run.call(truth.call_id), truth, scen)


def test_rfc4733_dtmf_over_ipv6_fragments() -> None:
    call = Call(call_id="v6dtmf@e2e", dtmf="0*", codecs=((8, "PCMA", 8000),
                (101, "telephone-event", 8000)))  # fmt: skip
    scen = call.build()
    run = analyze_scenario(scen, "frag6")
    rec = run.call("v6dtmf@e2e")
    assert (rec.dtmf, rec.codecs, rec.caller_ip) == ("0*", ["PCMA"], ipv6_for("10.0.0.1"))
    assert sum(s.telephone_events for s in rec.streams) == 16
