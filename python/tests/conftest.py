"""pytest setup: the package from python/ (this checkout), the library from FASTSERDE_LIBRARY
(ctest sets it to the build's libfastserde.so), a printed, replayable seed."""
import os
import random
import sys
import time

import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # python/ -> `import fastserde`
sys.path.insert(0, HERE)                   # seed_fast_serde, layouts

SEED = int(os.environ.get("FSD_TEST_SEED") or (time.time_ns() & 0xFFFFFFFF))
CASES = int(os.environ.get("FSD_TEST_CASES") or 300)

cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="no CUDA device (torch.cuda.is_available() is False)")


def pytest_report_header(config):
    lib = os.environ.get("FASTSERDE_LIBRARY", "(FASTSERDE_LIBRARY not set)")
    return [f"fastserde seed: {SEED} (replay with FSD_TEST_SEED={SEED}), cases: {CASES}",
            f"libfastserde: {lib}", f"torch {torch.__version__}, "
            f"CUDA {'available' if torch.cuda.is_available() else 'not available'}"]


@pytest.fixture
def rng(request):
    """A random.Random seeded from SEED and the test's name: each test replays alone."""
    return random.Random(f"{SEED}:{request.node.nodeid}")
