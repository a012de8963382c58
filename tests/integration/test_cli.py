"""Command line and config file: DESIGN.md "Interfaces users rely on"."""

import os
import socket
import subprocess
import time

import pytest


def test_version_and_help(run_synod):
    v = run_synod("--version")
    assert v.returncode == 0 and v.stdout.startswith("synod ")
    h = run_synod("--help")
    assert h.returncode == 0
    for key in ("--config", "--id", "--listen", "--peer-listen", "--cluster", "--data-dir",
                "--fsync", "maxclients", "hz"):
        assert key in h.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--bogus", "1"], "unknown option '--bogus' (see --help)"),
        (["--fsync", "sometimes"], "fsync: bad value 'sometimes'"),
        (["--id", "0"], "id: bad value '0'"),
        (["--id", "abc"], "id: bad value 'abc'"),
        (["--listen", "nohostport"], "listen: bad address 'nohostport'"),
        (["--listen", "127.0.0.1:70000"], "listen: bad address '127.0.0.1:70000'"),
        (["--peer-listen", "1.2.3.4"], "peer-listen: bad address '1.2.3.4'"),
        (["--cluster", "1=127.0.0.1"], "cluster: bad address '127.0.0.1'"),
        (["--cluster", "x=127.0.0.1:1"], "cluster: bad member id 'x'"),
        (["--cluster", "2=127.0.0.1:17379"], "id 1 is not in the member list"),
        (["--cluster", "1=a:1,1=b:2"], "member id 1 listed twice"),
        (["--maxclients", "0"], "maxclients: bad value '0'"),
        (["--listen"], "--listen needs a value"),
        (["stray"], "unexpected argument 'stray'"),
        (["--config", "/nonexistent/synod.conf"], "cannot open '/nonexistent/synod.conf'"),
        (["--consistency", "strong"], "consistency: bad value 'strong' (expected linearizable"),
        (["--save", "10"], "save: bad value '10' (pairs of seconds and changes)"),
        (["--cluster", ""], "cluster: empty member list"),
        (["--notify-keyspace-events", "Q"], "notify-keyspace-events: invalid event class"),
        (["--maxmemory-policy", "lru"], "maxmemory-policy: bad value 'lru'"),
        # TLS settings that cannot work together (checked before any file is read)
        (["--listen", "127.0.0.1:17390", "--tls-port", "17390", "--tls-cert-file", "/x.crt",
          "--tls-key-file", "/x.key"], "tls-port: 17390 is also the plaintext port of listen"),
        (["--tls-client-cert-file", "/x.crt"],
         "tls-client-cert-file and tls-client-key-file: set both or neither"),
        (["--tls-port", "17391", "--tls-cert-file", "/x.crt", "--tls-key-file", "/x.key",
          "--tls-auth-clients", "optional"], "tls-auth-clients optional: set tls-ca-cert-file"),
        (["--cluster", "1=127.0.0.1:17392,2=127.0.0.1:17393", "--tls-cluster", "yes"],
         "tls-cluster yes: set tls-cert-file, tls-key-file"),
        (["--cluster", "1=127.0.0.1:17392,2=127.0.0.1:17393", "--tls-cluster", "yes",
          "--tls-cert-file", "/x.crt", "--tls-key-file", "/x.key", "--tls-ca-cert-file", "/x.ca"],
         "tls-cluster yes: set tls-port"),
        (["--cluster", "1=127.0.0.1:17392,2=127.0.0.1:17393", "--tls-cluster", "yes",
          "--tls-cert-file", "/x.crt", "--tls-key-file", "/x.key", "--tls-ca-cert-file", "/x.ca",
          "--tls-port", "17394", "--tls-auth-clients", "no"],
         "tls-cluster yes without cluster-secret"),
    ],
)
def test_bad_arguments_exit_nonzero(run_synod, tmp_path, args, needle):
    res = run_synod("--data-dir", str(tmp_path / "d"), *args)
    assert res.returncode != 0
    assert needle in res.stderr, res.stderr


def test_data_dir_that_is_a_file(run_synod, tmp_path):
    f = tmp_path / "file"
    f.write_text("not a directory")
    res = run_synod("--data-dir", str(f))
    assert res.returncode != 0 and f"data-dir: '{f}' is not a directory" in res.stderr, res.stderr
    assert f.read_text() == "not a directory"


def test_unusable_addresses(run_synod, tmp_path):
    res = run_synod("--data-dir", str(tmp_path / "d"), "--listen", "192.0.2.1:7379")
    assert res.returncode != 0 and "listen 192.0.2.1:7379" in res.stderr
    res = run_synod("--data-dir", str(tmp_path / "d"), "--listen", "no-such-host.invalid:7379")
    assert res.returncode != 0 and "listen no-such-host.invalid:7379" in res.stderr
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    res = run_synod("--data-dir", str(tmp_path / "d"), "--listen", f"127.0.0.1:{port}")
    busy.close()
    assert res.returncode != 0 and "Address already in use" in res.stderr


def test_unusable_data_dir(run_synod, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    res = run_synod("--data-dir", str(f))
    assert res.returncode != 0 and "data-dir" in res.stderr


def test_config_file(synod_server, run_synod, tmp_path):
    conf = tmp_path / "synod.conf"
    conf.write_text(
        "# a comment\n\n  hz 25   # trailing comment\nfsync never\nlisten 127.0.0.1:0\n"
        f"data-dir {tmp_path / 'cdata'}\nmaxclients 777\nproto-max-bulk-len 2mb\n"
    )
    p = synod_server("--config", str(conf), defaults=False)
    r = p.client(decode_responses=True)
    assert r.config_get("hz") == {"hz": "25"}
    assert r.config_get("maxclients") == {"maxclients": "777"}
    assert r.config_get("fsync") == {"fsync": "never"}
    assert r.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": str(2 * 1024 * 1024)}
    assert os.path.isdir(tmp_path / "cdata")
    assert r.info("server")["config_file"] == str(conf)
    # the command line overrides the file (one process per data directory: its WAL is locked)
    r.close()
    assert p.stop() == 0
    p2 = synod_server("--hz", "30", "--config", str(conf), defaults=False)
    assert p2.client().config_get("hz") == {"hz": "30"}


def test_config_file_errors_name_key_and_line(run_synod, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("hz 10\nbogus-key 1\n")
    res = run_synod("--config", str(conf))
    assert res.returncode != 0
    assert "bad.conf:2" in res.stderr and "unknown key 'bogus-key'" in res.stderr
    conf.write_text("fsync maybe\n")
    res = run_synod("--config", str(conf))
    assert res.returncode != 0 and "fsync: bad value 'maybe'" in res.stderr
    conf.write_text("listen\n")
    res = run_synod("--config", str(conf))
    assert res.returncode != 0 and "'listen' needs a value" in res.stderr


def test_cluster_of_one_with_self(synod_server):
    p = synod_server("--id", "3", "--cluster", "3=127.0.0.1:17400")
    cons = p.client(decode_responses=True).info("consensus")
    assert cons["node_id"] == 3 and cons["leader_id"] == 3
    assert "3=127.0.0.1:17400" in str(cons["members"])


def test_no_arguments_defaults(tmp_path, synod_bin):
    """No arguments: 127.0.0.1:7379 and ./synod-data (skipped if 7379 is taken)."""
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", 7379))
    except OSError:
        pytest.skip("port 7379 in use")
    finally:
        probe.close()
    log = open(tmp_path / "log", "wb")
    proc = subprocess.Popen([synod_bin], cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        ok = False
        while time.monotonic() < deadline and not ok:
            try:
                with socket.create_connection(("127.0.0.1", 7379), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    ok = s.recv(10) == b"+PONG\r\n"
            except OSError:
                time.sleep(0.05)
        assert ok
        assert (tmp_path / "synod-data").is_dir()
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    assert proc.returncode == 0  # SIGTERM is a clean shutdown
