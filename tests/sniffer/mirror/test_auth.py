"""Per-sensor secrets, proofs and handshake messages."""

from pathlib import Path

import pytest

from db.errors import ConfigError
from sniffer.mirror import auth


def _secrets(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    p = tmp_path / "secrets"
    p.write_text(text)
    p.chmod(mode)
    return p


def test_secrets_file(tmp_path: Path) -> None:
    p = _secrets(tmp_path, "# senders\npbx1 0123456789abcdef\n\n  pbx-2   another-secret-123 \n")
    assert auth.load_secrets(p) == {"pbx1": b"0123456789abcdef", "pbx-2": b"another-secret-123"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pbx1\n", "line 1: expected 'NAME SECRET'"),
        ("pbx1 short\n", "line 1: the secret must be at least 16 characters"),
        ("a 0123456789abcdef\na 0123456789abcdef\n", "line 2: sensor 'a' is listed twice"),
        ("bad/name 0123456789abcdef\n", "line 1: sensor name 'bad/name' must be 1..64 letters"),
        ("# nothing\n", "no 'NAME SECRET' line"),
    ],
)
def test_secrets_file_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        auth.load_secrets(_secrets(tmp_path, text))
    assert message in str(err.value)
    assert str(err.value).startswith(f"mirror secrets {tmp_path / 'secrets'}")


def test_secrets_file_must_be_private_and_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"readable by others \(chmod o-r\)$"):
        auth.load_secrets(_secrets(tmp_path, "a 0123456789abcdef\n", 0o644))
    with pytest.raises(ConfigError, match=r"No such file or directory$"):
        auth.load_secrets(tmp_path / "missing")


def test_proofs_are_bound_to_role_name_and_nonces() -> None:
    s, c, n = b"secret-secret-secret", auth.new_nonce(), auth.new_nonce()
    sender = auth.sender_proof(s, "pbx1", c, n)
    assert sender != auth.receiver_proof(s, "pbx1", c, n)  # no reflection
    assert sender != auth.sender_proof(s, "pbx2", c, n)
    assert sender != auth.sender_proof(s, "pbx1", c, auth.new_nonce())  # replay: new nonce
    assert sender != auth.sender_proof(b"other-secret-secret", "pbx1", c, n)
    assert auth.proofs_equal(sender, auth.sender_proof(s, "pbx1", c, n))
    assert auth.session_key(s, "pbx1", c, n) not in (sender, auth.receiver_proof(s, "pbx1", c, n))


def test_nonce_cache_refuses_repeats_within_its_bound() -> None:
    cache = auth.NonceCache(size=2)
    a, b, c = b"a" * 32, b"b" * 32, b"c" * 32
    assert not cache.seen(a) and cache.seen(a)
    assert not cache.seen(b) and not cache.seen(c)
    assert not cache.seen(a)  # forgotten: the bound holds


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "HELLO is not JSON"),
        (b"[1]", "HELLO is not a JSON object"),
        (b'{"sensor": 1}', "HELLO: field 'sensor' missing or not str"),
        (b'{"sensor": "a", "acked": true}', "HELLO: field 'acked' missing or not int"),
    ],
)
def test_message_errors(body: bytes, message: str) -> None:
    with pytest.raises(auth.HandshakeError) as err:
        auth.load(body, "HELLO", {"sensor": str, "acked": int})
    assert str(err.value) == message


def test_hex_fields() -> None:
    with pytest.raises(auth.HandshakeError, match=r"^AUTH: field 'proof' is not hex$"):
        auth.unhex({"proof": "zz"}, "proof", "AUTH")
    with pytest.raises(
        auth.HandshakeError, match=r"^AUTH: field 'proof' has 1 bytes, expected 32$"
    ):
        auth.unhex({"proof": "00"}, "proof", "AUTH")
