"""Standard Redis tools against synod: redis-cli and redis-benchmark."""

import subprocess


def cli(port, *args, input=None):
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=30,
        input=input,
    )


def test_redis_cli(synod):
    p = synod.port
    assert cli(p, "ping").stdout == "PONG\n"
    assert cli(p, "set", "greeting", "hello world").stdout == "OK\n"
    assert cli(p, "get", "greeting").stdout == "hello world\n"
    assert cli(p, "hset", "h", "a", "1", "b", "2").stdout == "2\n"
    assert cli(p, "-3", "hgetall", "h").stdout == "a 1\nb 2\n"  # RESP3: a map, key value
    assert cli(p, "hgetall", "h").stdout == "a\n1\nb\n2\n"  # RESP2: a flat array
    assert cli(p, "--raw", "incrby", "n", "5").stdout == "5\n"
    # interactive-style session through stdin, and errors rendered as such
    res = cli(p, input="select 16\nselect 1\nget greeting\nselect 0\nget greeting\nfoo\n")
    assert "ERR DB index is out of range" in res.stdout
    assert res.stdout.count("hello world") == 1  # database 1 has no greeting, 0 has
    assert "ERR unknown command 'foo'" in res.stdout
    assert "redis_version" in cli(p, "info", "server").stdout


def test_redis_cli_pipe_mode(synod):
    cmds = "".join(f"SET key{i} value{i}\r\n" for i in range(5000))
    res = cli(synod.port, "--pipe", input=cmds)
    assert res.returncode == 0, res.stderr
    assert "errors: 0, replies: 5000" in res.stdout
    assert synod.client().dbsize() == 5000


def test_redis_benchmark(synod):
    res = subprocess.run(
        ["redis-benchmark", "-p", str(synod.port), "-t", "set,get,incr,hset", "-n", "5000",
         "-c", "20", "-P", "4", "--csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    rows = [l for l in res.stdout.splitlines() if l and not l.startswith('"test"')]
    tests = {l.split(",")[0].strip('"') for l in rows}
    assert {"SET", "GET", "INCR", "HSET"} <= tests
    for l in rows:
        assert float(l.split(",")[1].strip('"')) > 0
    assert "could not fetch server CONFIG" not in res.stderr
    r = synod.client()
    assert len(r.get("key:__rand_int__")) == 3  # -d default: 3-byte values
