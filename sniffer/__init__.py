"""callsift sensor: packet decoding, SIP call tracking, RTP quality, per-call pcaps."""

from sniffer import compiled as _compiled

_compiled.select()  # compiled or pure hot path, before any hot module loads (sniffer/compiled.py)
