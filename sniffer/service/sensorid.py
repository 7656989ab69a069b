"""The sensor id of a claim: configured, remembered from an earlier run, or claimed in the
``sensors`` table for the claim's identity (db.queries.sensors.claim_sensor_id)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from db.connect import connect
from db.errors import DbUnavailable
from db.queries import claim_sensor_id
from db.url import parse_db_url
from sniffer.service.identity import Claim
from sniffer.version import callsift_version

log = logging.getLogger(__name__)

RETRY_S = 5.0


async def resolve_sensor_id(
    db_url: str, claim: Claim, name: str, stop: asyncio.Event, *, timeout_s: float = 5.0
) -> int | None:
    """The claim's sensor id. Asks the database unless the claim remembers one; while the
    database is unreachable it retries every ``RETRY_S`` (None once ``stop`` is set). A
    rejection (credentials, missing schema) raises :class:`~db.errors.DbRejected`."""
    cached = claim.cached_sensor_id()
    if cached is not None:
        return cached
    identity = claim.identity()
    said = False
    while not stop.is_set():
        try:
            sid = await claim_id(db_url, identity, name, timeout_s=timeout_s)
        except DbUnavailable as exc:
            if not said:
                log.warning("%s: waiting for the database to get this sensor's id", exc)
                said = True
        else:
            claim.remember_sensor_id(sid)
            log.info("sensor id %d for %s (identity %s)", sid, name, identity)
            return sid
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RETRY_S):
                await stop.wait()
    return None


async def claim_id(db_url: str, identity: str, name: str, *, timeout_s: float) -> int:
    """One claim of the id of ``identity`` (see db.queries.sensors.claim_sensor_id)."""
    conn = await connect(parse_db_url(db_url), timeout_s=timeout_s)
    try:
        return await claim_sensor_id(
            conn, identity, name=name, host=socket.gethostname(), version=callsift_version()
        )
    finally:
        conn.close()
