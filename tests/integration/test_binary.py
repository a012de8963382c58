import os
import subprocess

SYNOD = os.environ.get("SYNOD_BIN", "../../build/rel/synod")


def test_version_prints_name():
    out = subprocess.run([SYNOD, "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    assert out.stdout.startswith("synod ")
