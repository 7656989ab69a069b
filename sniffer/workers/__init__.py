"""N worker processes for one sensor or one ``analyze`` run (docs/ARCHITECTURE.md "Workers").

Every worker runs a whole :class:`~sniffer.analyzer.Analyzer` on all the SIP and on its share
of the UDP flows (:mod:`.shard`); it hands each call it closes to the parent as a part
(:mod:`.parts`); the parent's :class:`~.assembler.Assembler` merges the parts of a call into
one call and builds its one record, diagnosis included.
"""
