"""A hostile mirror peer for the live tests: garbage, broken frames, stalls, forged frames
after a valid handshake. Every connection must end on the receiver's side without disturbing
the good senders."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import time

from sniffer.mirror import auth, frames


def _send(target: tuple[str, int], data: bytes, linger: float = 0.0) -> None:
    with contextlib.suppress(OSError), socket.create_connection(target, timeout=10) as s:
        s.sendall(data)
        if linger:
            time.sleep(linger)
        s.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            while s.recv(4096):
                pass


def _handshake(s: socket.socket, name: str, secret: bytes) -> bytes:
    """A valid handshake; returns the session key."""
    c = auth.new_nonce()
    hello = {"sensor": name, "stream": "f" * 32, "nonce": c.hex(), "time_ns": time.time_ns(),
             "acked": 0}  # fmt: skip
    s.sendall(frames.encode(frames.HELLO, auth.dump(hello)))
    head = s.recv(frames.HEADER_LEN, socket.MSG_WAITALL)
    h = frames.FrameHeader.parse(head)
    msg = json.loads(s.recv(h.length, socket.MSG_WAITALL))
    n = bytes.fromhex(msg["nonce"])
    proof = auth.sender_proof(secret, name, c, n)
    s.sendall(frames.encode(frames.AUTH, auth.dump({"proof": proof.hex(), "received_ns": 0})))
    head = s.recv(frames.HEADER_LEN, socket.MSG_WAITALL)
    h = frames.FrameHeader.parse(head)
    s.recv(h.length, socket.MSG_WAITALL)
    assert h.type == frames.WELCOME
    return auth.session_key(secret, name, c, n)


def fuzz(target: tuple[str, int], name: str, secret: bytes, rounds: int, seed: int) -> int:
    """``rounds`` hostile connections; returns how many were made."""
    rng = random.Random(seed)
    valid = frames.encode(frames.DATA, b"x" * 40, seq=1)
    n = 0
    for i in range(rounds):
        kind = i % 7
        if kind == 0:
            _send(target, rng.randbytes(rng.randint(1, 3000)))
        elif kind == 1:  # a valid-looking header, then random bytes
            _send(target, frames.FrameHeader(frames.HELLO, 0, 200).pack() + rng.randbytes(200))
        elif kind == 2:  # bit flips in a frame
            b = bytearray(valid)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            _send(target, bytes(b))
        elif kind == 3:  # wrong version, oversized body
            _send(target, b"CM\x07\x10" + bytes(14))
            _send(target, frames.FrameHeader(frames.DATA, 0, frames.MAX_BODY).pack()[:-8]
                  + b"\xff" * 8)  # fmt: skip
        elif kind == 4:  # a stalled sender: half a header, then silence past the timeout
            _send(target, valid[:9], linger=0.5)
        elif kind == 5:  # authenticated, then frames with a forged MAC
            with contextlib.suppress(OSError), socket.create_connection(target, timeout=10) as s:
                key = _handshake(s, name, secret)
                good = frames.encode(frames.DATA, b"junk", seq=10_000_000, key=key)
                s.sendall(good[:-1] + bytes([good[-1] ^ 1]))
                s.settimeout(10)
                with contextlib.suppress(OSError):
                    while s.recv(4096):
                        pass
        else:  # authenticated, then a DATA frame whose batch is garbage (valid MAC)
            with contextlib.suppress(OSError), socket.create_connection(target, timeout=10) as s:
                key = _handshake(s, name, secret)
                s.sendall(frames.encode(frames.DATA, rng.randbytes(100), seq=1,
                                        flags=frames.FLAG_ZSTD, key=key))  # fmt: skip
                s.sendall(frames.encode(frames.BYE, b"\x00", key=key))
                s.settimeout(10)
                with contextlib.suppress(OSError):
                    while s.recv(4096):
                        pass
        n += 1
    return n
