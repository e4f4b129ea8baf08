"""pytest setup: a printed, replayable seed, and the reference for fastserde.lmcache.

The package is whichever `import fastserde` finds: ctest puts this checkout's python/ on
PYTHONPATH and sets FASTSERDE_LIBRARY to the build's library; tools/python-wheel.sh runs the
same tests in a virtual environment where `pip install .` put the package, with neither set
(FSD_TEST_INSTALLED=1). The header says which package and library were loaded.

LMCACHE is the reference fastserde.lmcache is compared with: LMCache's own fast_serde module
when lmcache is importable (tools/python-wheel.sh puts the lmcache wheel's files on the path),
else seed_fast_serde, the seed's code copied.
"""
import os
import random
import sys
import time

import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # seed_fast_serde, layouts

import fastserde  # noqa: E402  (after the path is set)

try:
    import lmcache.storage_backend.serde.fast_serde as LMCACHE  # noqa: N812
    LMCACHE_NAME = f"LMCache's {LMCACHE.__file__}"
except ImportError:
    import seed_fast_serde as LMCACHE  # noqa: N812
    LMCACHE_NAME = "python/tests/seed_fast_serde.py (lmcache is not importable)"

INSTALLED = os.environ.get("FSD_TEST_INSTALLED") == "1"
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastserde.__file__)))


def subprocess_env(*paths):
    """The environment for a child interpreter that imports the same fastserde (and LMCache,
    when importable) as this one, with `paths` first on its path."""
    inherited = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                 if p]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join([*paths, PACKAGE_ROOT, *inherited]))
    if env.get("FASTSERDE_LIBRARY"):
        env["FASTSERDE_LIBRARY"] = os.path.abspath(env["FASTSERDE_LIBRARY"])
    return env
ASAN = "asan" in os.environ.get("LD_PRELOAD", "")

SEED = int(os.environ.get("FSD_TEST_SEED") or (time.time_ns() & 0xFFFFFFFF))
CASES = int(os.environ.get("FSD_TEST_CASES") or 300)

cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="no CUDA device (torch.cuda.is_available() is False)")


def pytest_report_header(config):
    lib = os.environ.get("FASTSERDE_LIBRARY", "(FASTSERDE_LIBRARY not set)")
    return [f"fastserde seed: {SEED} (replay with FSD_TEST_SEED={SEED}), cases: {CASES}",
            f"fastserde package: {os.path.dirname(fastserde.__file__)}",
            f"libfastserde: {fastserde.library_path()} (FASTSERDE_LIBRARY: {lib})",
            f"reference for fastserde.lmcache: {LMCACHE_NAME}",
            f"torch {torch.__version__}, "
            f"CUDA {'available' if torch.cuda.is_available() else 'not available'}"]


@pytest.fixture
def rng(request):
    """A random.Random seeded from SEED and the test's name: each test replays alone."""
    return random.Random(f"{SEED}:{request.node.nodeid}")
