"""Why a call was bad, and which legs belong together (docs/DIAGNOSIS.md).

The rules read a finished call (its SIP notes, its streams, the sensor's drop ledger) when its
record is built: one small module per family of rules, each rule one function registered in
:mod:`sniffer.diagnosis.registry`. On the packet path only the audio level is sampled, one
G.711 packet in ``diagnosis.silence_sample_every``.
"""
