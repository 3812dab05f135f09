"""Downloads: fetched from a loopback HTTP server (never a real host), verified, written atomically.

The catalogue entries keep their names and pinned checksums; only their
addresses are pointed at 127.0.0.1, so the real download path is exercised.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from mvd import data
from mvd.errors import ConfigError
from mvd.sources import uci
from mvd.sources.download import md5sum

SHARED = Path(os.environ.get("MVD_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")

pytestmark = pytest.mark.needs_data("letter", "sms_spam", "spambase")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """``(base_url, folder)``: a loopback HTTP server over ``folder``."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("MVD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MVD_DATA", raising=False)
    data._MEMO.clear()
    yield
    data._MEMO.clear()


def _serve_from(monkeypatch, name: str, *urls_of):
    """Point catalogue entry ``name`` at the given address makers (file -> url)."""
    spec = uci.DATASETS[name]
    files = tuple(dataclasses.replace(f, urls=tuple(u(f) for u in urls_of)) for f in spec.files)
    monkeypatch.setitem(uci.DATASETS, name, dataclasses.replace(spec, files=files))


def test_download_fetches_verifies_and_loads(make_cfg, server, tmp_path, monkeypatch):
    base, folder = server
    shutil.copy(SHARED / "letter" / "letter-recognition.data", folder)
    # the first address is dead (404): the next one is tried
    _serve_from(monkeypatch, "letter", lambda f: f"{base}/missing/{f.name}", lambda f: f"{base}/{f.name}")
    root = tmp_path / "root"
    ds = data.load(make_cfg("dataset=letter", f"dataset.root={root}", "dataset.download=true").dataset)
    got = root / "letter" / "letter-recognition.data"
    assert md5sum(got) == "6a2d740def5d13ea6096272546f6d41e" and len(ds) == 20000
    assert sorted(p.name for p in got.parent.iterdir()) == ["letter-recognition.data"]  # no temp files left
    # present and verified: no second download, even with the server gone
    _serve_from(monkeypatch, "letter", lambda f: "http://127.0.0.1:9/nothing")
    data._MEMO.clear()
    assert len(data.load(make_cfg("dataset=letter", f"dataset.root={root}", "dataset.download=true").dataset)) == 20000


def test_download_refuses_a_tampered_file_and_writes_nothing(make_cfg, server, tmp_path, monkeypatch):
    base, folder = server
    body = bytearray((SHARED / "letter" / "letter-recognition.data").read_bytes())
    body[100] ^= 1  # one flipped bit
    (folder / "letter-recognition.data").write_bytes(bytes(body))
    _serve_from(monkeypatch, "letter", lambda f: f"{base}/{f.name}")
    root = tmp_path / "root"
    with pytest.raises(ConfigError, match=r"could not download letter-recognition.data .*MD5 .*expected "
                                          r"6a2d740def5d13ea6096272546f6d41e.*nothing was saved"):
        data.load(make_cfg("dataset=letter", f"dataset.root={root}", "dataset.download=true").dataset)
    assert not root.exists() and not (tmp_path / "cache").exists()


def test_download_extracts_the_member_of_a_zip(make_cfg, server, tmp_path, monkeypatch):
    base, folder = server
    with zipfile.ZipFile(folder / "smsspamcollection.zip", "w") as zf:
        zf.write(SHARED / "sms_spam_collection" / "SMSSpamCollection", "SMSSpamCollection")
        zf.writestr("readme", "SMS Spam Collection v.1")
    _serve_from(monkeypatch, "sms_spam", lambda f: f"{base}/smsspamcollection.zip#{f.name}")
    root = tmp_path / "root"
    ds = data.load(make_cfg("dataset=sms_spam", f"dataset.root={root}", "dataset.download=true").dataset)
    assert len(ds) == 5574
    assert md5sum(root / "sms_spam_collection" / "SMSSpamCollection") == "1949b64a224790d01335c2bf8a0e48b2"


def test_a_present_file_with_the_wrong_checksum_is_refused(make_cfg, tmp_path):
    root = tmp_path / "root" / "spambase"
    root.mkdir(parents=True)
    (root / "spambase.data").write_bytes((SHARED / "spambase" / "spambase.data").read_bytes()[:-10])
    with pytest.raises(ConfigError, match=r"spambase.data has MD5 \w+, expected e7368d48fa690b0331a09b430d55fb6a"):
        data.load(make_cfg("dataset=spambase", f"dataset.root={tmp_path / 'root'}").dataset)
    assert not (tmp_path / "cache").exists()


def test_root_resolution_order(monkeypatch, tmp_path):
    from mvd.sources.download import data_root

    monkeypatch.setenv("MVD_DATA", str(tmp_path / "env"))
    assert data_root(str(tmp_path / "cfg")) == tmp_path / "cfg"
    assert data_root(None) == tmp_path / "env"
    monkeypatch.delenv("MVD_DATA")
    assert data_root(None) == tmp_path / "cache" / "data"
