"""The sender's side of a mirror connection: connect (optionally TLS), authenticate both ways,
resume after the last frame the receiver analysed, then stream the buffer and take the acks.
Failovers: the receivers of ``--to`` are tried in turn with a jittered exponential backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from db.errors import MirrorError
from sniffer.counters import Counters
from sniffer.mirror import auth, frames
from sniffer.mirror.buffer import SendBuffer

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
HANDSHAKE_TIMEOUT_S = 10.0
PING_S = 5.0
"""An idle sender pings this often (the receiver closes silent connections)."""
ACK_TIMEOUT_S = 30.0
"""No ack for this long while frames are in flight: the connection is dead."""
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 15.0
SOFTWARE = "callsift-mirror-send"


Opener = Callable[["Target"], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class MirrorRefused(MirrorError):
    """A receiver refused this sensor's handshake (or failed to prove it knows the secret):
    a configuration mistake, retrying cannot help."""


class _Lost(Exception):
    """The connection ended (any reason): reconnect."""


@dataclass(slots=True)
class Target:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def now_ns() -> int:
    return time.time_ns()


class MirrorClient:
    """Streams ``buffer`` to the receivers until :meth:`finish` says the input ended and all is
    acknowledged (or ``stop`` is set)."""

    def __init__(
        self,
        name: str,
        secret: bytes,
        targets: list[Target],
        buffer: SendBuffer,
        *,
        tls: ssl.SSLContext | None = None,
        counters: Counters | None = None,
        opener: Opener | None = None,
    ) -> None:
        """``opener`` connects to a target (default: TCP, with ``tls``)."""
        self.name = name
        self.secret = secret
        self.targets = targets
        self.buffer = buffer
        self.tls = tls
        self.counters = counters if counters is not None else Counters()
        self.wake = asyncio.Event()
        """Set when frames are added (or the input ends)."""
        self.acked = asyncio.Event()
        """Set on every ack (a producer waiting for buffer room)."""
        self.input_done = False
        self.end_of_input = True
        """Whether the end is the end of the sender's input (a file: the receiver ends its
        open calls) or only of this run (a live capture stopped: they may go on)."""
        self.connected: Target | None = None
        self.last_target: Target | None = None
        """The receiver of the last session (the status line's, once disconnected)."""
        self.receiver_id = ""
        self.clock_offset_ns: int | None = None
        self.rtt_ns: int | None = None
        self._bye_acked = False
        self.opener = opener or self._open
        self.stream = auth.new_nonce()[:16].hex()
        """This run's stream id: sequence numbers start at 1 in each run of the sender."""

    def finish(self, *, end_of_input: bool = True) -> None:
        """The input ended: once everything is acknowledged, say goodbye and return."""
        self.end_of_input = end_of_input
        self.input_done = True
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream, reconnect; returns when the input ended and was acknowledged, or
        on ``stop``. :class:`MirrorRefused` when a receiver refuses the handshake."""
        attempt = 0
        index = 0
        said_down = False
        while not stop.is_set():
            target = self.targets[index % len(self.targets)]
            try:
                done = await self._session(target, stop)
            except _Lost as exc:
                self.connected = None
                self.counters.inc("reconnects")
                if not said_down:
                    log.warning("mirror: receiver %s: %s; buffering, reconnecting", target, exc)
                    said_down = True
                else:
                    log.info("mirror: receiver %s: %s", target, exc)
                index += 1
                attempt += 1
                delay = random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** min(attempt, 10)))
                try:
                    async with asyncio.timeout(delay):
                        await stop.wait()
                except TimeoutError:
                    pass
                continue
            if done:
                return
            attempt, said_down = 0, False

    async def _open(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(target.host, target.port, ssl=self.tls, limit=1 << 20)

    async def _session(self, target: Target, stop: asyncio.Event) -> bool:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reader, writer = await self.opener(target)
        except ssl.SSLCertVerificationError as exc:
            raise MirrorRefused(
                f"mirror receiver {target}: its TLS certificate is not trusted "
                f"({exc.verify_message or exc.reason})"
            ) from None
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise _Lost(f"cannot connect ({getattr(exc, 'strerror', None) or exc!r})") from None
        frame_reader = frames.FrameReader(reader, max_body=frames.MAX_HANDSHAKE_BODY)
        try:
            key = await self._handshake(target, frame_reader, writer)
            frame_reader.key = key
            self.connected = self.last_target = target
            self.counters.inc("sessions")
            log.info("mirror: streaming to %s (resuming after frame %d)", target, self.buffer.acked)
            return await self._stream(frame_reader, writer, key, stop)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            raise _Lost(f"connection lost ({exc!r})") from None
        except TimeoutError:
            raise _Lost("no answer in time") from None
        except (frames.MirrorFrameError, auth.HandshakeError) as exc:
            self.counters.inc("protocol_errors")
            raise _Lost(f"protocol error: {exc}") from None
        finally:
            self.connected = None
            writer.close()
            try:
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            except (OSError, TimeoutError, ssl.SSLError):
                pass

    async def _handshake(
        self, target: Target, reader: frames.FrameReader, writer: asyncio.StreamWriter
    ) -> bytes:
        client_nonce = auth.new_nonce()
        hello = {
            "sensor": self.name,
            "nonce": client_nonce.hex(),
            "time_ns": now_ns(),
            "stream": self.stream,
            "acked": self.buffer.acked,
            "last_receiver": self.receiver_id,
            "codecs": ["zstd"],
            "software": SOFTWARE,
        }
        writer.write(frames.encode(frames.HELLO, auth.dump(hello)))
        await writer.drain()
        challenge = await reader.read(HANDSHAKE_TIMEOUT_S)
        received = now_ns()
        self._refused(target, challenge)
        if challenge.type != frames.CHALLENGE:
            raise auth.HandshakeError(f"expected CHALLENGE, got frame type {challenge.type}")
        msg = auth.load(challenge.body, "CHALLENGE", {"nonce": str, "receiver": str})
        server_nonce = auth.unhex(msg, "nonce", "CHALLENGE")
        proof = auth.sender_proof(self.secret, self.name, client_nonce, server_nonce)
        body = {"proof": proof.hex(), "received_ns": received, "time_ns": now_ns()}
        writer.write(frames.encode(frames.AUTH, auth.dump(body)))
        await writer.drain()
        welcome = await reader.read(HANDSHAKE_TIMEOUT_S)
        self._refused(target, welcome)
        if welcome.type != frames.WELCOME:
            raise auth.HandshakeError(f"expected WELCOME, got frame type {welcome.type}")
        msg2 = auth.load(welcome.body, "WELCOME", {"proof": str, "resume_after": int})
        expected = auth.receiver_proof(self.secret, self.name, client_nonce, server_nonce)
        if not auth.proofs_equal(auth.unhex(msg2, "proof", "WELCOME"), expected):
            self.counters.inc("receiver_auth_failed")
            raise MirrorRefused(
                f"mirror receiver {target} failed to prove it knows the secret of sensor "
                f"'{self.name}' (not our receiver, or its secret differs)"
            )
        self.receiver_id = str(msg["receiver"])[:64]
        offset = msg2.get("clock_offset_ns")
        self.clock_offset_ns = offset if isinstance(offset, int) else None
        rtt = msg2.get("rtt_ns")
        self.rtt_ns = rtt if isinstance(rtt, int) else None
        self.buffer.ack(max(0, int(msg2["resume_after"])))
        self.buffer.rewind()
        return auth.session_key(self.secret, self.name, client_nonce, server_nonce)

    def _refused(self, target: Target, frame: frames.Frame) -> None:
        if frame.type == frames.REFUSED:
            self.counters.inc("refused")
            why = frame.body.decode("utf-8", "replace")[:200] or "no reason given"
            raise MirrorRefused(f"mirror receiver {target} refused sensor '{self.name}': {why}")

    async def _stream(
        self,
        reader: frames.FrameReader,
        writer: asyncio.StreamWriter,
        key: bytes,
        stop: asyncio.Event,
    ) -> bool:
        """Send and receive until the connection ends (:class:`_Lost`), ``stop`` is set, or the
        input ended and all of it was acknowledged (True)."""
        reader.max_body = frames.MAX_HANDSHAKE_BODY
        recv = asyncio.create_task(self._receive(reader))
        try:
            return await self._send(writer, key, stop, recv)
        finally:  # the receiving task never outlives its connection
            recv.cancel()
            await asyncio.wait([recv])
            if not recv.cancelled():
                recv.exception()  # retrieved: _send raised it already, or the session ended

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        key: bytes,
        stop: asyncio.Event,
        recv: asyncio.Task[None],
    ) -> bool:
        buf = self.buffer
        last_ack_seen = time.monotonic()
        acked_before = buf.acked
        while True:
            if recv.done():
                recv.result()  # raises what ended it
                raise _Lost("the receiver closed the connection")
            if stop.is_set():
                await self._bye(writer, key, end_of_input=False)
                return True
            frame = buf.next_unsent()
            if frame is not None:
                writer.write(
                    frames.encode(
                        frames.DATA, frame.body, seq=frame.seq, flags=frame.flags, key=key
                    )
                )
                self.counters.inc("frames_sent")
                self.counters.inc("packets_sent", frame.packets)
                self.counters.inc(
                    "bytes_sent", len(frame.body) + frames.HEADER_LEN + frames.MAC_LEN
                )
                await writer.drain()
                continue
            if self.input_done and buf.empty:
                await self._bye(writer, key, end_of_input=self.end_of_input)
                return True
            if buf.acked != acked_before:
                acked_before, last_ack_seen = buf.acked, time.monotonic()
            elif buf.sent > buf.acked and time.monotonic() - last_ack_seen > ACK_TIMEOUT_S:
                raise _Lost(f"no acknowledgement for {ACK_TIMEOUT_S:g} s")
            self.wake.clear()
            try:
                async with asyncio.timeout(PING_S):
                    await self.wake.wait()
            except TimeoutError:
                writer.write(frames.encode(frames.PING, frames.PING_BODY.pack(now_ns()), key=key))
                await writer.drain()

    async def _bye(self, writer: asyncio.StreamWriter, key: bytes, *, end_of_input: bool) -> None:
        """Tell the receiver this sender ends; wait (briefly) for its last ack."""
        body = b"\x01" if end_of_input else b"\x00"
        writer.write(frames.encode(frames.BYE, body, key=key))
        await writer.drain()
        self.wake.clear()
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                while not self._bye_acked:
                    await self.wake.wait()
                    self.wake.clear()
        except TimeoutError:
            log.warning("mirror: the receiver did not confirm the end of the stream")

    async def _receive(self, reader: frames.FrameReader) -> None:
        while True:
            frame = await reader.read(ACK_TIMEOUT_S + PING_S)
            if frame.type == frames.REFUSED:
                raise _Lost(f"receiver ended the session: {frame.body[:200]!r}")
            if frame.type != frames.ACK or len(frame.body) < frames.ACK_BODY.size:
                raise frames.MirrorFrameError(
                    f"unexpected frame type {frame.type} from the receiver"
                )
            seq, _receiver_ns = frames.ACK_BODY.unpack_from(frame.body)
            if seq > self.buffer.sent:
                raise frames.MirrorFrameError(f"ack of frame {seq} never sent")
            self.buffer.ack(seq)
            if frame.body[frames.ACK_BODY.size :] == b"\x01":
                self._bye_acked = True
            self.counters.inc("acks")
            self.acked.set()
            self.wake.set()
