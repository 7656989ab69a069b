"""PcapStreamReader on arbitrary bytes, arbitrary bytes after a valid header and mutated
pcapng: a CaptureError or a warning, never another exception."""

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from db.errors import CaptureError
from sniffer.capture.pcapreader import PcapStreamReader
from tests.hypo import examples
from tests.sniffer.capture.test_pcapreader import (
    FRAME_A,
    FRAME_B,
    FRAME_C,
    epb,
    idb,
    pb,
    pcap_file,
    shb,
    spb,
)


def _consume(data: bytes) -> None:
    try:
        reader = PcapStreamReader(io.BytesIO(data), "fuzz", chunk_size=64)
    except CaptureError:
        return
    try:
        for ts, frame in reader:
            assert isinstance(ts, float)
            assert isinstance(frame, bytes)
    except CaptureError:
        return
    assert reader.warning is None or reader.warning.startswith("fuzz: ")


@settings(max_examples=examples(300))
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    _consume(data)


@settings(max_examples=examples(300))
@given(
    st.sampled_from([pcap_file([])[:24], shb(), shb() + idb(), shb(">") + idb(1, ">")]),
    st.binary(max_size=300),
)
def test_arbitrary_bytes_after_valid_header(head: bytes, tail: bytes) -> None:
    _consume(head + tail)


_SAMPLE = shb() + idb(tsresol=6) + epb(0, 5, FRAME_A) + pb(0, 6, FRAME_B) + spb(FRAME_C)


@settings(max_examples=examples(300))
@given(st.integers(0, len(_SAMPLE) - 1), st.integers(0, 255), st.integers(0, len(_SAMPLE)))
def test_mutated_pcapng(index: int, value: int, cut: int) -> None:
    data = bytearray(_SAMPLE)
    data[index] = value
    _consume(bytes(data[:cut]))
