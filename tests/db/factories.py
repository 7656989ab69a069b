"""Synthetic sensor records for database and writer tests."""

from db.records import (
    CallRecord,
    LegKeys,
    LegLink,
    MessageRecord,
    Problem,
    RegistrationRecord,
    RtcpSummary,
    StreamRecord,
)

T0 = 1_790_000_000.0
"""2026-09-21 14:13:20 UTC: microsecond timestamps below round-trip exactly through DATETIME(6)."""


def make_stream(i: int, k: int, t0: float = T0, *, rtcp: bool = True) -> StreamRecord:
    return StreamRecord(
        src_ip="10.0.0.1" if k == 0 else "2001:db8::2",
        src_port=4000 + 2 * k,
        dst_ip="2001:db8::1" if k == 0 else "10.0.0.2",
        dst_port=5000 + 2 * k,
        ssrc=(0xDEADBEEF + i * 7 + k) & 0xFFFFFFFF,
        payload_type=8 if k else 0,
        codec="PCMA" if k else "PCMU",
        packets=3000 + i,
        lost=k - 1,
        loss_pct=0.25 * k,
        duplicates=k,
        out_of_order=2 * k,
        max_delta_ms=20.5 + k,
        max_jitter_ms=3.25 if k else None,  # stream 0: jitter not computed (e.g. no clock)
        mean_jitter_ms=1.5 if k else None,
        mos=4.25 if k else None,
        rtcp=RtcpSummary(
            sr_count=3,
            rr_count=2,
            fraction_lost_max=0.5,
            cumulative_lost=-2,
            jitter_max_ms=4.5,
            rtt_avg_ms=12.25,
            rtt_max_ms=20.0,
            xr_mos_lq=4.1,
            xr_mos_cq=4.0,
            xr_r_factor=90,
            xr_loss_rate=0.01,
            xr_discard_rate=0.0,
        )
        if rtcp and k
        else None,
        first_ts=t0 + i + 0.5,
        last_ts=t0 + i + 60.25,
        direction="caller" if k == 0 else "callee",
        telephone_events=k,
        playout_discard_pct=0.125 * k if k else None,
    )


def make_call(i: int, t0: float = T0, *, streams: int = 2, dtmf: str = "12#") -> CallRecord:
    """Call number ``i`` (unique uid and call-id) with ``streams`` RTP streams."""
    return CallRecord(
        call_id=f"cid-{i}@pbx.example.com",
        uid=f"{i:024x}",
        caller=f"alice{i % 97}",
        caller_domain="example.com",
        caller_name="Alice ☃",
        called=f"bob{i % 89}",
        called_domain="example.org",
        caller_ip="192.0.2.1",
        caller_port=5060,
        called_ip="2001:db8::5",
        called_port=5062,
        vlan=100 if i % 2 else None,
        invite_ts=t0 + i + 0.123456,
        ringing_ts=t0 + i + 1.0,
        answer_ts=t0 + i + 2.5 if i % 3 else None,
        end_ts=t0 + i + 61,
        duration_s=60.876544,
        connect_duration_s=58.5 if i % 3 else 0.0,
        final_code=200 if i % 3 else 487,
        final_reason="OK" if i % 3 else "Request Terminated",
        hangup_by="caller" if i % 3 else None,
        state="completed" if i % 3 else "cancelled",
        codecs=["PCMU", "PCMA", "telephone-event"],
        dtmf=dtmf,
        streams=[make_stream(i, k, t0) for k in range(streams)],
        pcap=f"/var/spool/callsift/{i}.pcap" if i % 5 == 0 else None,
        caller_ua="Yealink SIP-T46S 66.86.0.15",
        called_ua=f"Asterisk PBX 20.{i % 4}",
        bye_code=200 if i % 3 else None,
        challenged=bool(i % 2),
        sip_messages=7,
        retransmissions=i % 3,
        transport="udp",
        flags=["early_media"] if i % 4 == 0 else [],
        pdd_ms=1000 + i % 7,
        problems=[Problem("poor_quality", f"caller->callee SSRC {i}: MOS 2.10")] if i % 2 else [],
        leg_keys=LegKeys(
            cids=[f"corr-{i // 2}"],
            session_ids=[f"{i:032x}"],
            icids=[],
            media=["192.0.2.1:40000", "[2001:db8::5]:50000"],
            ssrcs=[0x10000 + i],
        ),
        leg_group=f"{i - i % 2:024x}",
        leg_links=[LegLink(f"{i - 1:024x}", f"cid-{i - 1}@pbx.example.com", "x-cid")]
        if i % 2
        else [],
    )


def make_registration(
    i: int, ts: float = T0, *, code: int | None = 200, expires: int | None = 3600
) -> RegistrationRecord:
    return RegistrationRecord(
        user=f"user{i}",
        domain="Example.COM",
        contact_ip="198.51.100.7",
        src_ip="198.51.100.7",
        ts=ts,
        result_code=code,
        expires=expires,
        challenged=True,
        call_id=f"reg-{i}-{ts}",
        src_port=5060,
        user_agent="Zoiper rv2.10",
        attempts=2,
    )


def make_message(i: int, ts: float = T0) -> MessageRecord:
    return MessageRecord(
        from_=f"alice{i}@example.com",
        to="bob@example.org",
        ts=ts + i,
        body=f"hello {i} ✓",
        result_code=202,
        call_id=f"msg-{i}",
        src_ip="192.0.2.1",
        dst_ip="192.0.2.2",
    )
