"""A journal belongs to one database and one sensor: keyed folders and their manifest."""

import json
import logging
from pathlib import Path

import pytest

from db.errors import JournalError
from db.url import parse_db_url
from sniffer.storage.journal import Journal
from sniffer.storage.owner import MANIFEST, JournalOwner, read_manifest, report_others


def owner(url: str, sensor: int = 7) -> JournalOwner:
    return JournalOwner.of(parse_db_url(url), sensor)


def test_key_is_the_database_and_the_sensor_not_the_credentials() -> None:
    a = owner("mysql://root@DB.example.org:3306/callsift")
    assert a == JournalOwner("db.example.org:3306/callsift", 7)
    assert str(a) == "sensor 7 on db.example.org:3306/callsift"
    assert owner("mysql://sensor1:secret@db.example.org/callsift").key == a.key
    others = [
        owner("mysql://root@db.example.org:3307/callsift"),
        owner("mysql://root@db.example.org:3306/callsift2"),
        owner("mysql://root@db2.example.org:3306/callsift"),
        owner("mysql://root@db.example.org:3306/callsift", 8),
        owner("mysql://root@[::1]:3306/callsift"),
    ]
    assert len({a.key, *(o.key for o in others)}) == 6
    assert a.key == "sensor-7-" + a.key.rsplit("-", 1)[1] and len(a.key.rsplit("-", 1)[1]) == 16


def test_manifest_written_on_creation_and_checked_on_open(tmp_path: Path) -> None:
    a = owner("mysql://root@127.0.0.1:3306/one")
    b = owner("mysql://root@127.0.0.1:3306/two")
    j = Journal(tmp_path / a.key, max_bytes=1 << 20, owner=a)
    j.append([b'{"x":1}\n'])
    j.close()
    assert read_manifest(tmp_path / a.key) == a
    assert json.loads((tmp_path / a.key / MANIFEST).read_bytes()) == {
        "database": "127.0.0.1:3306/one",
        "format": 1,
        "sensor_id": 7,
    }
    Journal(tmp_path / a.key, max_bytes=1 << 20, owner=a).close()  # its own: fine
    with pytest.raises(JournalError) as info:
        Journal(tmp_path / a.key, max_bytes=1 << 20, owner=b)  # copied or renamed folder
    assert str(info.value) == (
        f"journal {tmp_path / a.key} holds records of sensor 7 on 127.0.0.1:3306/one, not of "
        "sensor 7 on 127.0.0.1:3306/two: they are replayed into their own database only"
    )
    Journal(tmp_path / a.key, max_bytes=1 << 20, owner=a).close()  # the lock was released


def test_records_of_nobody_known_are_never_claimed(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=1 << 20)  # no owner: as an older callsift wrote it
    j.append([b'{"x":1}\n'])
    j.close()
    a = owner("mysql://root@127.0.0.1:3306/one")
    with pytest.raises(JournalError, match="holds records of an unknown database"):
        Journal(tmp_path, max_bytes=1 << 20, owner=a)
    assert read_manifest(tmp_path) is None


def test_damaged_manifest(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text('{"format": 1, "database": 3}')
    a = owner("mysql://root@127.0.0.1:3306/one")
    with pytest.raises(JournalError) as info:
        Journal(tmp_path, max_bytes=1 << 20, owner=a)
    assert str(info.value).startswith(f"journal manifest {tmp_path / MANIFEST} is damaged: ")


def test_journals_of_others_are_reported_and_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = owner("mysql://root@127.0.0.1:3306/one")
    b = owner("mysql://root@127.0.0.1:3306/two")
    empty = owner("mysql://root@127.0.0.1:3306/three")
    for who, lines in ((a, 1), (b, 2), (empty, 0)):
        j = Journal(tmp_path / who.key, max_bytes=1 << 20, owner=who)
        j.append([b'{"x":1}\n'] * lines)
        j.close()
    (tmp_path / "segment-000000000001.jsonl").write_bytes(b'{"x":1}\n')  # an older layout
    caplog.set_level(logging.WARNING)
    assert report_others(tmp_path, a) == [tmp_path, tmp_path / b.key]
    assert f"journal {tmp_path / b.key} waits for another database or sensor" in caplog.text
    assert "records of sensor 7 on 127.0.0.1:3306/two" in caplog.text
    assert f"journal {tmp_path} holds records of an unknown database" in caplog.text
    assert report_others(tmp_path / "missing", a) == []
