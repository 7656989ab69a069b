"""Call media read back from the pcap: RTP packets, G.711/G.722 decoding, WAV, per-second series."""
