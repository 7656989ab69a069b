"""One mirror connection on the receiver: handshake, then a reader task (frames off the socket
into a bounded queue: a full queue stops reading, which slows that sender only) and an analysis
task (batches into the sender's sensor, each acknowledged once analysed)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Protocol

from db.errors import DbError
from sniffer.mirror import auth, frames
from sniffer.mirror.batch import BatchDecoder, MirrorBatchError
from sniffer.mirror.handshake import (
    HANDSHAKE_TIMEOUT_S,
    Accepted,
    AuthFailed,
    authenticate,
    read_hello,
    refused,
    welcome,
)

if TYPE_CHECKING:
    from db.settings import Settings
    from sniffer.counters import Counters
    from sniffer.mirror.remote import RemoteSensor


class Receiver(Protocol):
    """What a connection uses of the receiver (sniffer.mirror.server.MirrorReceiver)."""

    settings: Settings
    counters: Counters
    nonces: auth.NonceCache
    secrets: dict[str, bytes]
    receiver_id: str

    async def sensor_for(self, name: str) -> RemoteSensor: ...


log = logging.getLogger(__name__)

_END = None


class Connection:
    def __init__(
        self,
        receiver: Receiver,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.receiver = receiver
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.frames = frames.FrameReader(reader, max_body=frames.MAX_HANDSHAKE_BODY)
        self.sensor: RemoteSensor | None = None
        self.queue: asyncio.Queue[frames.Frame | None] = asyncio.Queue()
        self.room = asyncio.Semaphore(receiver.settings.mirror.queue_batches)
        self.decoder = BatchDecoder()
        self._reader_task: asyncio.Task[None] | None = None
        self.closing = False
        self.key = b""

    def count(self, reason: str) -> None:
        self.receiver.counters.inc(reason)

    async def run(self) -> None:
        try:
            accepted = await self._handshake()
            if accepted is not None:
                await self._stream(accepted)
        finally:
            if self.sensor is not None and self.sensor.active is self:
                self.sensor.active = None
                self.sensor.connected = False
            self.writer.close()
            try:
                async with asyncio.timeout(1.0):
                    await self.writer.wait_closed()
            except (OSError, TimeoutError):
                pass

    def stop(self) -> None:
        """Stop reading; what is queued is still analysed and acknowledged."""
        self.closing = True
        if self._reader_task is not None:
            self._reader_task.cancel()

    # -- handshake --------------------------------------------------------------------------

    async def _handshake(self) -> Accepted | None:
        r = self.receiver
        try:
            hello = await read_hello(self.frames, r.nonces)
            acc = await authenticate(
                hello, r.secrets.get(hello.name), r.receiver_id, self.frames, self.writer
            )
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                self.sensor = await r.sensor_for(hello.name)
        except AuthFailed as exc:
            self.count(f"refused.{exc.reason}")
            log.warning("mirror: %s refused: %s", self.peer, exc)
            text = "replayed handshake" if exc.reason == "replayed" else "authentication failed"
            await self._send(refused(text))
            return None
        except (frames.MirrorFrameError, auth.HandshakeError) as exc:
            self.count("bad_handshake")
            log.warning("mirror: %s: bad handshake: %s", self.peer, exc)
            return None
        except TimeoutError:
            self.count("handshake_timeouts")
            return None
        except (asyncio.IncompleteReadError, OSError):
            self.count("handshake_incomplete")
            return None
        except DbError as exc:
            self.count("sensor_id_unavailable")
            log.warning("mirror: sensor '%s' has no id yet (%s): sender retries", hello.name, exc)
            return None
        return acc

    async def _send(self, data: bytes) -> None:
        try:
            self.writer.write(data)
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                await self.writer.drain()
        except (OSError, TimeoutError):
            pass

    # -- streaming --------------------------------------------------------------------------

    async def _stream(self, acc: Accepted) -> None:
        sensor = self.sensor
        assert sensor is not None
        old = sensor.active
        if isinstance(old, Connection):
            self.count("replaced_connections")
            old.stop()
        sensor.active = self
        resume, split = sensor.resume(acc.hello.stream, acc.hello.acked)
        if split:
            sensor.mirror.inc("split_sessions")
        failover = acc.hello.last_receiver not in ("", self.receiver.receiver_id)
        if failover:
            sensor.mirror.inc("failover_sessions")
        sensor.clock_offset_ns, sensor.rtt_ns = acc.clock_offset_ns, acc.rtt_ns
        sensor.connected = True
        sensor.mirror.inc("sessions")
        await self._send(welcome(acc, resume, failover))
        self.frames.key = acc.key
        self.frames.max_body = frames.MAX_BODY
        self.key = acc.key
        log.info(
            "mirror: sensor '%s' (id %d) from %s, resuming after frame %d, clock offset %+.3f ms",
            sensor.name, sensor.sensor_id, self.peer, resume, acc.clock_offset_ns / 1e6,
        )  # fmt: skip
        async with asyncio.TaskGroup() as tg:
            self._reader_task = tg.create_task(self._read())
            tg.create_task(self._analyse(sensor))

    async def _read(self) -> None:
        timeout = self.receiver.settings.mirror.read_timeout_s
        try:
            while not self.closing:
                frame = await self.frames.read(timeout)
                if frame.type == frames.DATA:
                    await self.room.acquire()
                elif frame.type not in (frames.PING, frames.BYE):
                    raise frames.MirrorFrameError(f"unexpected frame type {frame.type}")
                self.queue.put_nowait(frame)
                if frame.type == frames.BYE:
                    return
        except frames.MirrorFrameError as exc:
            self.count("bad_frames")
            log.warning("mirror: %s: %s; connection closed", self.peer, exc)
        except TimeoutError:
            self.count("read_timeouts")
            log.warning("mirror: %s: nothing for %g s; connection closed", self.peer, timeout)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                self.count("truncated_frames")
        except OSError:
            self.count("connection_errors")
        finally:
            self.queue.put_nowait(_END)

    async def _analyse(self, sensor: RemoteSensor) -> None:
        while True:
            frame = await self.queue.get()
            if frame is _END:
                return
            if frame.type == frames.DATA:
                self.room.release()
                self._data(sensor, frame)
                await asyncio.sleep(0)  # the other senders, the heartbeats
            elif frame.type == frames.PING and len(frame.body) >= frames.PING_BODY.size:
                (sent_ns,) = frames.PING_BODY.unpack_from(frame.body)
                sensor.clock_offset_ns = time.time_ns() - sent_ns - (sensor.rtt_ns or 0) // 2
            end = frame.type == frames.BYE
            if end:
                sensor.streaming = False  # the sender stops: it goes nowhere else
            if end and frame.body == b"\x01":
                for a in sensor.analyzers.values():
                    a.finish("unterminated")
                sensor.mirror.inc("inputs_ended")
            if self.queue.empty() or end:
                body = frames.ACK_BODY.pack(sensor.last_seq, time.time_ns())
                await self._send_ack(body + (b"\x01" if end else b""))

    def _data(self, sensor: RemoteSensor, frame: frames.Frame) -> None:
        seq = frame.seq
        if seq <= sensor.last_seq:
            sensor.mirror.inc("duplicate_frames")
            return
        if seq > sensor.last_seq + 1:
            sensor.mirror.inc("gap_frames", seq - sensor.last_seq - 1)
        try:
            linktype, packets = self.decoder.decode(
                frame.body, bool(frame.header.flags & frames.FLAG_ZSTD)
            )
        except MirrorBatchError as exc:
            sensor.mirror.inc("bad_batches")
            log.warning("mirror: sensor '%s' frame %d: %s (skipped)", sensor.name, seq, exc)
        else:
            sensor.feed(linktype, packets)
            sensor.mirror.inc("frames")
        sensor.last_seq = seq

    async def _send_ack(self, body: bytes) -> None:
        try:
            self.writer.write(frames.encode(frames.ACK, body, key=self.key))
            async with asyncio.timeout(self.receiver.settings.mirror.read_timeout_s):
                await self.writer.drain()
        except (OSError, TimeoutError):
            self.stop()
