"""Loss accounting of one RTP stream: extended sequence numbers, duplicates, late packets,
source restarts and the loss pattern's burstiness (BurstR).

Sequence numbers (RFC 3550 A.1): every packet gets an extended number congruent to its 16-bit
sequence number, counted from the highest so far. ``expected`` = highest - lowest + 1 and
``lost`` = expected - packets, duplicates included (tshark's figure, negative when duplicates
outnumber losses). A packet at most MAX_MISORDER behind the highest is a duplicate (seen in the
RING_SIZE window) or a late packet; a larger jump either way is a possible restart, confirmed
only by the next packet carrying the next number (RFC 3550 A.1 probation).

BurstR comes from a two-state Markov (Gilbert) model of the loss pattern: with
p = P(loss | previous received) and q = P(received | previous lost), BurstR = 1 / (p + q)
(ITU-T G.107 / G.113 Appendix I): 1 for random loss, above 1 for bursty loss, below 1 for loss
more spread out than random. Each run of missing packets starts after a received packet and
ends before one, so p = bursts / received and q = bursts / lost.
"""

from sniffer.rtp.hotfields import StreamHot
from sniffer.seq import seq_add, seq_diff

MAX_DROPOUT = 3000
"""RFC 3550 A.1: a forward jump larger than this needs confirmation (source restart)."""
MAX_MISORDER = 100
"""RFC 3550 A.1: a backward jump larger than this needs confirmation (source restart); a
packet at most this far behind the highest is a duplicate or a late packet."""
WINDOW = 128
"""Extended sequence numbers behind the highest whose arrival is remembered (> MAX_MISORDER),
to tell a duplicate from a late packet."""
_WINDOW_BITS = (1 << WINDOW) - 1
EXT_START = 1 << 16
"""The first packet's extended sequence is seq + 65536, so earlier (late) packets stay >= 0."""

# results of LossTracker._seq_slow
SEQ_OK = 0
SEQ_DUP = 1
SEQ_LATE = 2
SEQ_BAD = 3
SEQ_RESTART = 4
SEQ_EARLY = 5
"""A late packet or a duplicate older than the stream's first packet (counted as late or as a
duplicate; nothing in arrival order precedes it)."""


def burst_ratio(lost: int, bursts: int, received: int) -> float:
    """BurstR of a loss pattern; 1.0 when nothing (or everything) was lost."""
    if lost <= 0 or received <= 0:
        return 1.0
    b = min(max(bursts, 1), lost, received)
    return 1.0 / (b / received + b / lost)


class LossTracker(StreamHot):
    """Sequence state of a stream. The owner's hot path handles the next sequence number itself
    (``_max_ext += 1``, nothing else) and calls :meth:`_seq_slow` for anything else;
    ``packets`` is derived, so that path never counts.

    Which recent numbers arrived is a bitmap of the :data:`WINDOW` numbers up to
    ``_seen_top`` (bit i: number ``_seen_top - i``); every number after ``_seen_top`` up to
    ``_max_ext`` arrived in order, so the hot path never touches the bitmap and the slow path
    brings it up to date first (:meth:`_seen_now`). Numbers before the lowest have no bit set."""

    __slots__ = (
        "_adj",
        "_bad_at",
        "_bad_seq",
        "_base_ext",
        "_first_ext",
        "_gaps",
        "_seen",
        "_seen_top",
        "duplicates",
        "out_of_order",
    )

    def __init__(self) -> None:
        self._max_ext = -1
        self.duplicates = 0
        self.out_of_order = 0
        # packets = max_ext - base_ext + 1 + adj (the hot path moves max_ext only)
        self._base_ext = 0
        self._first_ext = 0
        self._adj = 0
        self._seen = 0
        self._seen_top = -1
        self._gaps = 0
        """Runs of consecutive missing packets."""
        self._bad_seq = -1
        self._bad_at = -1

    def _seq_start(self, seq: int) -> None:
        """Before the first packet: make ``seq`` the next expected number."""
        self._base_ext = self._first_ext = seq + EXT_START
        self._max_ext = self._seen_top = self._base_ext - 1

    def _seq_slow(self, seq: int) -> int:
        """Any sequence number but the next one: gaps, late packets, duplicates, restarts."""
        span = self._max_ext - self._base_ext
        res = self._seq_classify(seq)
        self._adj += 1 - (self._max_ext - self._base_ext - span)
        return res

    def _seen_now(self) -> int:
        """The arrival bitmap with ``_seen_top`` moved up to the highest number (the numbers
        in between arrived in order)."""
        mx = self._max_ext
        k = mx - self._seen_top
        if k > 0:
            if k >= WINDOW:
                self._seen = _WINDOW_BITS
            else:
                self._seen = ((self._seen << k) | ((1 << k) - 1)) & _WINDOW_BITS
            self._seen_top = mx
        return self._seen

    def _seq_classify(self, seq: int) -> int:
        seen = self._seen_now()
        mx = self._max_ext
        d = seq_diff(seq, mx)
        if d > MAX_DROPOUT or d < -MAX_MISORDER:
            n = self.packets
            if seq != self._bad_seq or n != self._bad_at:
                self._bad_seq = seq_add(seq, 1)
                self._bad_at = n + 1  # confirmed only by the very next packet
                return SEQ_BAD
            # Two sequential packets after a jump: the source restarted (RFC 3550 A.1). The
            # numbering continues past the jump and the base moves up by the jump, so only the
            # probation packet and this one are added to the expected count.
            jump = seq_add(seq, -mx)
            ext = mx + jump
            self._base_ext += jump - 2
            self._first_ext = self._base_ext
            self._seen = 0b11  # the probation packet and this one
            self._max_ext = self._seen_top = ext
            return SEQ_RESTART
        ext = mx + d
        if d > 0:
            if d > 1:
                self._gaps += 1  # a new run of d - 1 missing packets
            self._seen = ((seen << d) | 1) & _WINDOW_BITS
            self._max_ext = self._seen_top = ext
            return SEQ_OK
        if d == 0 or (seen >> -d) & 1:
            self.duplicates += 1
            return SEQ_EARLY if ext < self._first_ext else SEQ_DUP
        self.out_of_order += 1
        base = self._base_ext
        self._seen = seen | (1 << -d)
        if ext < base:
            if ext < base - 1:
                self._gaps += 1  # a new hole between this packet and the old lowest
            self._base_ext = ext
            return SEQ_EARLY
        prev_seen = ext - 1 < base or (seen >> (1 - d)) & 1 == 1
        next_seen = (seen >> (-1 - d)) & 1 == 1
        if prev_seen and next_seen:
            self._gaps -= 1  # filled a one-packet hole
        elif not prev_seen and not next_seen:
            self._gaps += 1  # split a hole in two
        return SEQ_EARLY if ext < self._first_ext else SEQ_LATE

    @property
    def packets(self) -> int:
        """Every packet, duplicates included (tshark's Pkts)."""
        return self._max_ext - self._base_ext + 1 + self._adj

    @property
    def expected(self) -> int:
        return self._max_ext - self._base_ext + 1

    @property
    def lost(self) -> int:
        """expected - packets, as tshark: negative when duplicates outnumber losses."""
        return -self._adj

    @property
    def loss_pct(self) -> float:
        exp = self.expected
        return self.lost * 100.0 / exp if exp else 0.0

    @property
    def missing(self) -> int:
        """Distinct packets never received (duplicates do not offset losses)."""
        return max(0, self.duplicates - self._adj)

    @property
    def missing_pct(self) -> float:
        exp = self.expected
        return self.missing * 100.0 / exp if exp else 0.0

    @property
    def burst_ratio(self) -> float:
        return burst_ratio(self.missing, self._gaps, self.packets - self.duplicates)
