"""The compiled build's C index of RTP flows (sniffer/_flowindex.c) behaves as the dict it
replaces: a model test against a dict, its lookups by frame, its errors, its references.

The extension is built by ``make compile`` with the hot modules; where no C compiler is (a
``CALLSIFT_COMPILE=0`` checkout) there is nothing to test here."""

from __future__ import annotations

import gc
import os
import random
import sys
import weakref
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer import compiled

if compiled.implementation() == compiled.COMPILED:
    from sniffer._flowindex import FlowIndex  # the compiled pass must have it
else:
    FlowIndex = pytest.importorskip("sniffer._flowindex", reason="not built").FlowIndex

KEY = b"\x0a\x00\x00\x01\x0a\x00\x00\x02\x27\x10\x4e\x20"


def _index() -> Any:
    return FlowIndex(os.urandom(16))


def _frame(key: bytes, tail: bytes = b"\x80\x00" + bytes(12)) -> bytes:
    """An Ethernet/IPv4/UDP frame whose addresses and ports are ``key`` (bytes 26..37)."""
    return bytes(14) + b"\x45" + bytes(11) + key + bytes(4) + tail


class Flow:
    """Any object: the index holds references, not copies."""


_POOL = [bytes([i % 7, 0, 0, i // 7 % 3]) + bytes(6) + i.to_bytes(2, "big") for i in range(40)]
_OTHER = [bytes(36), KEY * 3, b""]
"""Keys of other lengths (an IPv6 flow's is 36 bytes): never held, absent when looked up."""

_OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "pop", "del", "get", "in", "hint"]), st.sampled_from(_POOL + _OTHER)
    ),
    max_size=200,
)


@settings(max_examples=300)
@given(_OPS, st.binary(min_size=16, max_size=16))
def test_it_behaves_as_a_dict(ops: list[tuple[str, bytes]], hash_key: bytes) -> None:
    index, model = FlowIndex(hash_key), {}
    hints: dict[bytes, int] = {}  # the model of hint(): set for a held key, gone with its flow
    alive = []  # every hinted object, so that no two share an address
    for op, key in ops:
        if op == "set" and len(key) != 12:
            with pytest.raises(ValueError, match=f"flow key must be 12 bytes, got {len(key)}"):
                index[key] = Flow()
        elif op == "set":
            flow = Flow()
            index[key] = model[key] = flow
            hints.pop(key, None)
        elif op == "pop":
            assert index.pop(key, None) is model.pop(key, None)
            hints.pop(key, None)
        elif op == "del":
            hints.pop(key, None)
            if key in model:
                del index[key], model[key]
            else:
                with pytest.raises(KeyError):
                    del index[key]
        elif op == "hint":
            alive.append(obj := Flow())
            assert index.hint(key, obj) is (key in model)
            if key in model:
                hints[key] = id(obj)
        elif op == "get":
            assert index.get(key) is model.get(key)
        else:
            assert (key in index) == (key in model)
        assert len(index) == len(model)
    for key in _POOL:
        assert index.get(key) is model.get(key)
        assert index.find(_frame(key)) is model.get(key)
    for key in _POOL + _OTHER:
        assert index.hint_address(key) == hints.get(key, 0)
    assert sorted(map(id, index.values())) == sorted(map(id, model.values()))


def test_growth_and_deletion_keep_every_flow_reachable() -> None:
    """Thousands of keys (the table grows from 64 slots) removed in random order: every
    removal shifts its cluster back, and every remaining key is still found."""
    rng = random.Random(7)
    keys = [rng.randbytes(12) for _ in range(5000)]
    index, model = _index(), {}
    for k in keys:
        index[k] = model[k] = Flow()
    rng.shuffle(keys)
    for n, k in enumerate(keys):
        assert index.pop(k, None) is model.pop(k)
        if n % 500 == 0:
            assert all(index[r] is model[r] for r in model)
    assert len(index) == 0 and index.values() == []


def test_hints_follow_their_flows_through_growth_and_deletion() -> None:
    """A hint stays with its key's flow while the table grows and clusters shift back; it
    holds no reference, and a hinted object that is gone is still only an address."""
    rng = random.Random(8)
    keys = [rng.randbytes(12) for _ in range(3000)]
    index, objs = _index(), {}
    for k in keys:
        index[k] = Flow()
        objs[k] = obj = Flow()
        base = sys.getrefcount(obj)
        assert index.hint(k, obj) is True
        assert sys.getrefcount(obj) == base
    rng.shuffle(keys)
    for k in keys[:1500]:
        del index[k]
        assert index.hint_address(k) == 0 and index.hint(k, objs[k]) is False
    assert all(index.hint_address(k) == id(objs[k]) for k in keys[1500:])
    gone = keys[1500]
    index[gone] = Flow()  # a new flow for the key: no hint until one is given
    assert index.hint_address(gone) == 0
    index.hint(gone, Flow())  # the object dies at once; its address is only prefetched
    index.prefetch([(0.0, _frame(k)) for k in keys[1500:]])


def test_find_reads_the_key_in_the_frame() -> None:
    index = _index()
    flow = index[KEY] = Flow()
    assert index.find(_frame(KEY)) is flow
    assert index.find(_frame(KEY)[:38]) is flow  # the key's last byte is the frame's last
    assert index.find(_frame(KEY)[:37]) is None
    assert index.find(b"") is None
    assert index.find(_frame(KEY[:-1] + b"\x21")) is None


def test_errors_name_the_problem() -> None:
    index = _index()
    cases: list[tuple[Any, type[Exception], str]] = [
        (lambda: index.__setitem__(b"short", 1), ValueError, "flow key must be 12 bytes, got 5"),
        (lambda: index.get("x" * 12), TypeError, "flow key must be bytes, not str"),
        (lambda: index[KEY], KeyError, repr(KEY)),
        (lambda: index.pop(KEY), KeyError, repr(KEY)),
        (lambda: index.pop(), TypeError, "pop expected 1 or 2 arguments, got 0"),
        (lambda: index.get(KEY, 1, 2), TypeError, "get expected 1 or 2 arguments, got 3"),
        (lambda: index.find(bytearray(40)), TypeError, "frame must be bytes, not bytearray"),
        (lambda: index.prefetch(()), TypeError, "packets must be a list, not tuple"),
        (lambda: index.hint(KEY), TypeError, "hint expected 2 arguments, got 1"),
        (lambda: index.hint_address(), TypeError, "hint_address expected 1 argument, got 0"),
        (lambda: index.hint(1, 2), TypeError, "flow key must be bytes, not int"),
        (lambda: FlowIndex(b"x"), ValueError, "hash_key must be 16 bytes, got 1"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind) as err:
            call()
        assert str(err.value) == message
    assert index.get(KEY, "absent") == "absent" and index.pop(KEY, "absent") == "absent"


def test_prefetch_is_a_hint_for_anything_in_the_list() -> None:
    index = _index()
    flow = index[KEY] = Flow()
    junk: list[Any] = [
        (0.0, _frame(KEY)),
        (0.0, _frame(bytes(12))),
        (0.0, b"short"),
        (0.0,),
        "not a packet",
        (0.0, bytearray(_frame(KEY))),
        None,
    ]
    index.prefetch(junk * 40)  # more than one block of 64
    index.prefetch([])
    assert len(index) == 1 and index[KEY] is flow


def test_it_holds_one_reference_per_flow() -> None:
    index, flow, other = _index(), Flow(), Flow()
    base = sys.getrefcount(flow)
    index[KEY] = flow
    assert sys.getrefcount(flow) == base + 1
    index[KEY] = flow  # the same flow again: still one
    assert sys.getrefcount(flow) == base + 1
    index[KEY] = other  # replaced
    assert sys.getrefcount(flow) == base
    assert index.pop(KEY) is other
    index[KEY] = flow
    del index[KEY]
    assert sys.getrefcount(flow) == base
    index[KEY] = flow
    del index
    assert sys.getrefcount(flow) == base


def test_a_cycle_through_the_index_is_collected() -> None:
    index = _index()
    flow = Flow()
    flow.index = index  # type: ignore[attr-defined]
    index[KEY] = flow
    gone = weakref.ref(flow)
    del index, flow
    gc.collect()
    assert gone() is None


def test_a_flow_released_by_the_index_may_change_it() -> None:
    """Releasing a flow can run code (a finalizer) that uses the index: it finds it sound."""
    index = _index()
    other = KEY[:-1] + b"\x21"

    class AddsAnother:
        def __del__(self) -> None:
            index[other] = Flow()

    index[KEY] = AddsAnother()
    del index[KEY]
    assert KEY not in index and other in index and len(index) == 1
    index[KEY] = AddsAnother()
    index[KEY] = Flow()  # replaced: the old flow's finalizer sets ``other`` again
    assert len(index) == 2
    keys = [os.urandom(12) for _ in range(100)]
    for k in keys:
        index[k] = AddsAnother()  # growth (64 slots, then 128, 256) with flows held
    for k in keys:
        assert index.pop(k) is not None
    assert len(index) == 2
