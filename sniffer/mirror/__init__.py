"""Packet mirroring: a light sender forwards captured frames, compressed and authenticated, to
a receiving sensor that analyses many senders (docs/MIRROR.md is the wire contract).

* :mod:`.frames` the versioned frame header and its parser;
* :mod:`.batch` a batch of frames (link type, ns timestamps, lengths) and its zstd body;
* :mod:`.auth` per-sensor secrets, the challenge-response proofs and the handshake messages;
* :mod:`.buffer` the sender's bounded memory (+ optional disk) buffer of unacknowledged frames;
* :mod:`.sender` / :mod:`.client` the sender; :mod:`.server` / :mod:`.remote` the receiver.
"""
