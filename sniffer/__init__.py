"""callsift sensor: packet decoding, SIP call tracking, RTP quality, per-call pcaps."""
