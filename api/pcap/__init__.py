"""Reading the per-call pcaps of the spool: file formats, decapsulation, SIP and RTP.

A compact reader of its own (``api`` never imports the sensor): it decodes what the spool
holds — Ethernet/VLAN/Linux cooked (v1, v2)/raw IP/loopback, IPv4/IPv6 with fragments,
IP-in-IP, GRE (TEB, ERSPAN II/III, PPP), VXLAN, HEP3, UDP, TCP (SIP framed by Content-Length
across segments, WebSocket) and SCTP DATA chunks."""
