"""The seed's own usage example (python/examples/lmcache_usage.py) runs with the import changed
to fastserde.lmcache and gives the same bytes as the seed's code path: the script is run twice,
once as it is and once with its import line pointed at the reference (seed_fast_serde), and the
outputs (a SHA-256 per serialized tensor) must be identical."""
import os
import subprocess
import sys

from conftest import HERE, subprocess_env

EXAMPLE = os.path.join(os.path.dirname(HERE), "examples", "lmcache_usage.py")
IMPORT = "from fastserde.lmcache import FastSerializer, FastDeserializer"


def run(source):
    out = subprocess.run([sys.executable, "-c", source], env=subprocess_env(HERE),
                         capture_output=True, text=True, timeout=300, cwd=HERE)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_seed_usage_gives_identical_bytes():
    with open(EXAMPLE) as f:
        source = f.read()
    lines = source.splitlines()
    assert lines.count(IMPORT) == 1, "the example must import from fastserde.lmcache, once"
    seed_source = source.replace(IMPORT, "from seed_fast_serde import FastSerializer, "
                                         "FastDeserializer")
    ours = run(source)
    theirs = run(seed_source)
    assert ours.count("sha256") == 7, ours
    assert ours == theirs
