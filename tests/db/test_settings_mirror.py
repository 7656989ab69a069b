"""The ``mirror`` and ``hep`` settings: values, and one line naming the key for a bad one."""

import pytest

from db.errors import ConfigError
from db.settings import load_settings


def test_values() -> None:
    s = load_settings(
        None,
        {"mirror.to": "a:9070, [::1]:9070", "hep.listen": "udp:0.0.0.0:9060,tcp:[::]:9061",
         "hep.out": "tcp:homer:9060"},
    )  # fmt: skip
    assert s.mirror.to == ["a:9070", "[::1]:9070"]
    assert s.hep.listen == ["udp:0.0.0.0:9060", "tcp:[::]:9061"]
    assert s.mirror.secret is None and s.mirror.buffer_mb == 64


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"mirror.to": "central"}, "mirror.to (CALLSIFT_MIRROR_TO): must be HOST:PORT, got 'central'"),
        ({"mirror.secret": "short"}, "mirror.secret (CALLSIFT_MIRROR_SECRET): must be at least 16 characters"),
        ({"mirror.listen": "9070"}, "mirror.listen (CALLSIFT_MIRROR_LISTEN): must be HOST:PORT, got '9070'"),
        ({"hep.listen": "sctp:h:9060"}, "hep.listen (CALLSIFT_HEP_LISTEN): must be udp:HOST:PORT or tcp:HOST:PORT, got 'sctp:h:9060'"),
        ({"hep.out": "udp:homer"}, "hep.out (CALLSIFT_HEP_OUT): must be HOST:PORT, got 'homer'"),
        ({"mirror.buffer_mb": 0}, "mirror.buffer_mb (CALLSIFT_MIRROR_BUFFER_MB): Input should be greater than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_values_name_the_key(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, flags)
    assert str(err.value) == message


def test_the_secret_is_never_shown() -> None:
    s = load_settings(None, {"mirror.secret": "0123456789abcdefXYZ"})
    assert "0123456789abcdefXYZ" not in repr(s) + str(s.model_dump())
