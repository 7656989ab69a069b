"""HEP (Homer Encapsulation Protocol) in and out: the UDP and TCP listeners
(:mod:`.listen`), what a packet becomes (:mod:`.ingest`), TCP framing (:mod:`.stream`) and the
HEPv3 sender of ``--hep-out`` (:mod:`.out`). Parsing and encoding: sniffer/decode/hep.py."""
