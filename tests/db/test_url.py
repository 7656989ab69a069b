import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.errors import ConfigError
from db.settings import load_settings
from db.url import DbConfig, SslMode, TlsConfig, parse_db_url


def test_full_url() -> None:
    cfg = parse_db_url("mysql://sensor:s3cret@db.example.com:3307/callsift")
    assert cfg == DbConfig("sensor", "s3cret", "db.example.com", 3307, "callsift")
    assert cfg.where == "db.example.com:3307"


def test_defaults_and_mariadb_scheme() -> None:
    cfg = parse_db_url("mariadb://root@127.0.0.1/cs")
    assert (cfg.user, cfg.password, cfg.host, cfg.port, cfg.database) == (
        "root",
        "",
        "127.0.0.1",
        3306,
        "cs",
    )


def test_percent_escapes_are_decoded() -> None:
    cfg = parse_db_url("mysql://us%40er:p%40ss%3Aw%2Fd@host/db")
    assert (cfg.user, cfg.password) == ("us@er", "p@ss:w/d")


def test_unescaped_at_in_password_uses_last_at() -> None:
    assert parse_db_url("mysql://u:p@ss@host/db").password == "p@ss"


def test_ipv6_host() -> None:
    cfg = parse_db_url("mysql://u@[::1]:3310/db")
    assert (cfg.host, cfg.port, cfg.where) == ("::1", 3310, "[::1]:3310")


def test_repr_hides_password() -> None:
    cfg = parse_db_url("mysql://u:topsecret@h/db")
    assert "topsecret" not in repr(cfg)
    assert "topsecret" not in str(cfg)
    assert "password='***'" in repr(cfg)
    assert "password" not in repr(parse_db_url("mysql://u@h/db"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgres://u@h/db",
            "database URL must start with mysql:// (form: mysql://USER:PASSWORD@HOST:PORT/DATABASE)",
        ),
        (
            "127.0.0.1:3306/db",
            "database URL must start with mysql:// (form: mysql://USER:PASSWORD@HOST:PORT/DATABASE)",
        ),
        ("mysql://h/db", "database URL has no user (form: mysql://USER@HOST/DATABASE)"),
        ("mysql://:pw@h/db", "database URL has no user (form: mysql://USER@HOST/DATABASE)"),
        ("mysql://u@/db", "database URL has no host"),
        ("mysql://u@:3306/db", "database URL has no host"),
        ("mysql://u@h", "database URL has no database name"),
        ("mysql://u@h/", "database URL has no database name"),
        ("mysql://u@h:abc/db", "database URL has an invalid port 'abc'"),
        ("mysql://u@h:/db", "database URL has an invalid port ''"),
        ("mysql://u@h:0/db", "database URL port must be 1..65535, got 0"),
        ("mysql://u@h:70000/db", "database URL port must be 1..65535, got 70000"),
        ("mysql://u@[::1/db", "database URL has an unclosed [ in the host"),
        ("mysql://u@[::1]x/db", "database URL has garbage after the host: 'x'"),
        (
            "mysql://u@h/my-db",
            "database URL has an invalid database name 'my-db' (letters, digits, _ and $, at most 64)",
        ),
        (
            "mysql://u@h/a`b",
            "database URL has an invalid database name 'a`b' (letters, digits, _ and $, at most 64)",
        ),
    ],
)
def test_errors_are_precise(url: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_db_url(url)
    assert str(info.value) == message


@given(st.text(max_size=80))
def test_arbitrary_text_raises_only_value_error(text: str) -> None:
    try:
        cfg = parse_db_url(text)
    except ValueError:
        return
    assert 1 <= cfg.port <= 65535 and cfg.database and cfg.user and cfg.host


def test_db_url_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSIFT_DB_URL", "mysql://env@h/db")
    s = load_settings(None, {"storage.db_url": "mysql://flag@h/db"})
    assert s.storage.require_db_url() == "mysql://flag@h/db"


def test_db_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSIFT_DB_URL", "mysql://env@h/db")
    assert load_settings(None, {"storage.db_url": None}).storage.require_db_url() == (
        "mysql://env@h/db"
    )


def test_db_url_from_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLSIFT_DB_URL", raising=False)
    with pytest.raises(ConfigError) as info:
        load_settings(None).storage.require_db_url()
    assert str(info.value) == (
        "no database: pass --db mysql://USER:PASSWORD@HOST:PORT/DATABASE or set CALLSIFT_DB_URL"
    )


def test_unix_socket_option() -> None:
    cfg = parse_db_url("mysql://sensor:pw@localhost/callsift?unix_socket=/run/mysqld/mysqld.sock")
    assert cfg.unix_socket == "/run/mysqld/mysqld.sock"
    assert cfg.tls is None
    assert cfg.where == "/run/mysqld/mysqld.sock"
    assert "unix_socket='/run/mysqld/mysqld.sock'" in repr(cfg)


def test_tls_options() -> None:
    cfg = parse_db_url("mysql://u:pw@db.example.net/cs?ssl_ca=/etc/ca.pem")
    assert cfg.tls == TlsConfig(SslMode.VERIFY_IDENTITY, "/etc/ca.pem")
    cfg = parse_db_url(
        "mysql://u@db/cs?ssl_mode=VERIFY_CA&ssl_ca=%2Fca.pem&ssl_cert=/c.pem&ssl_key=/k.pem"
    )
    assert cfg.tls == TlsConfig(SslMode.VERIFY_CA, "/ca.pem", "/c.pem", "/k.pem")
    assert "ssl_mode='verify_ca'" in repr(cfg)
    assert parse_db_url("mysql://u@db/cs?ssl_mode=required").tls == TlsConfig(SslMode.REQUIRED)
    assert parse_db_url("mysql://u@db/cs?ssl_mode=disabled").tls is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db?ssl=1", "database URL has an unknown option 'ssl' (known: unix_socket, ssl_mode, ssl_ca, ssl_cert, ssl_key)"),
        ("mysql://u@h/db?ssl_ca=", "database URL option ssl_ca has no value"),
        ("mysql://u@h/db?unix_socket", "database URL option unix_socket has no value"),
        ("mysql://u@h/db?ssl_ca=/a&ssl_ca=/b", "database URL option ssl_ca is given twice"),
        ("mysql://u@h/db?ssl_mode=yes", "database URL option ssl_mode must be one of disabled, required, verify_ca, verify_identity, got 'yes'"),
        ("mysql://u@h/db?ssl_cert=/c.pem", "database URL options ssl_cert and ssl_key go together"),
        ("mysql://u@h/db?ssl_mode=disabled&ssl_ca=/a", "database URL has ssl_ca but ssl_mode=disabled"),
        ("mysql://u@h/db#frag", "database URL must not have a #fragment"),
    ],
)  # fmt: skip
def test_bad_options(url: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_db_url(url)
    assert str(err.value) == message
