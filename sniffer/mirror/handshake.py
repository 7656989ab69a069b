"""The receiver's side of the handshake (docs/MIRROR.md, "Handshake"): HELLO, CHALLENGE, AUTH,
WELCOME or REFUSED, within :data:`HANDSHAKE_TIMEOUT_S`; the clock offset measured on the way."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sniffer.mirror import auth, frames

HANDSHAKE_TIMEOUT_S = 10.0


class AuthFailed(Exception):
    """The sender is refused; ``reason`` is the counter, ``str()`` what is logged."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class Hello:
    name: str
    client_nonce: bytes
    stream: str
    """The sender's run: its sequence numbers start at 1 in each."""
    acked: int
    last_receiver: str
    sent_ns: int
    received_ns: int


@dataclass(slots=True)
class Accepted:
    hello: Hello
    server_nonce: bytes
    key: bytes
    secret: bytes
    clock_offset_ns: int
    rtt_ns: int


async def read_hello(reader: frames.FrameReader, nonces: auth.NonceCache) -> Hello:
    frame = await reader.read(HANDSHAKE_TIMEOUT_S)
    received = time.time_ns()
    if frame.type != frames.HELLO:
        raise frames.MirrorFrameError(f"expected HELLO, got frame type {frame.type}")
    msg = auth.load(
        frame.body,
        "HELLO",
        {"sensor": str, "stream": str, "nonce": str, "time_ns": int, "acked": int},
    )
    try:
        name = auth.check_name(msg["sensor"])
    except ValueError as exc:
        raise auth.HandshakeError(f"HELLO: {exc}") from None
    nonce = auth.unhex(msg, "nonce", "HELLO")
    if nonces.seen(nonce):
        raise AuthFailed("replayed", f"sensor '{name}': replayed handshake (nonce seen before)")
    last = msg.get("last_receiver")
    return Hello(
        name, nonce, msg["stream"][:64], max(0, msg["acked"]), last if isinstance(last, str) else "",
        msg["time_ns"], received,
    )  # fmt: skip


async def authenticate(
    hello: Hello,
    secret: bytes | None,
    receiver_id: str,
    reader: frames.FrameReader,
    writer: asyncio.StreamWriter,
) -> Accepted:
    """CHALLENGE, then check the AUTH proof (an unknown name fails like a wrong secret)."""
    known = secret is not None
    key_secret = secret if secret is not None else auth.decoy_secret()
    server_nonce = auth.new_nonce()
    sent = time.time_ns()
    body = {"nonce": server_nonce.hex(), "receiver": receiver_id, "time_ns": sent}
    writer.write(frames.encode(frames.CHALLENGE, auth.dump(body)))
    await writer.drain()
    frame = await reader.read(HANDSHAKE_TIMEOUT_S)
    if frame.type != frames.AUTH:
        raise frames.MirrorFrameError(f"expected AUTH, got frame type {frame.type}")
    msg = auth.load(frame.body, "AUTH", {"proof": str, "received_ns": int})
    proof = auth.unhex(msg, "proof", "AUTH")
    expected = auth.sender_proof(key_secret, hello.name, hello.client_nonce, server_nonce)
    if not auth.proofs_equal(proof, expected):
        if not known:
            raise AuthFailed("unknown_sensor", f"sensor '{hello.name}' is not in the secrets file")
        raise AuthFailed("auth_failed", f"sensor '{hello.name}': wrong proof (wrong secret)")
    t1, t2, t3, t4 = hello.sent_ns, hello.received_ns, sent, msg["received_ns"]
    return Accepted(
        hello,
        server_nonce,
        auth.session_key(key_secret, hello.name, hello.client_nonce, server_nonce),
        key_secret,
        clock_offset_ns=((t2 - t1) + (t3 - t4)) // 2,
        rtt_ns=max(0, (t4 - t1) - (t3 - t2)),
    )


def welcome(acc: Accepted, resume_after: int, failover: bool) -> bytes:
    proof = auth.receiver_proof(
        acc.secret, acc.hello.name, acc.hello.client_nonce, acc.server_nonce
    )
    body = {
        "proof": proof.hex(),
        "resume_after": resume_after,
        "clock_offset_ns": acc.clock_offset_ns,
        "rtt_ns": acc.rtt_ns,
        "failover": failover,
    }
    return frames.encode(frames.WELCOME, auth.dump(body))


def refused(reason: str) -> bytes:
    return frames.encode(frames.REFUSED, reason.encode())
