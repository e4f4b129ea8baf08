"""The package as `pip install .` installs it (tools/python-wheel.sh runs the whole suite that
way, with FSD_TEST_INSTALLED=1): the library inside the package, found with no environment
variable; FASTSERDE_LIBRARY still overrides it; versions agree; torch is not a requirement."""
import os
import subprocess
import sys

import pytest

import fastserde
from conftest import HERE, INSTALLED, subprocess_env

SOURCE_TREE = os.path.dirname(os.path.dirname(HERE))
installed = pytest.mark.skipif(not INSTALLED, reason="tests the pip-installed package "
                               "(FSD_TEST_INSTALLED=1, set by tools/python-wheel.sh)")


def test_versions_agree():
    assert fastserde.__version__ == fastserde.library_version()


@installed
def test_installed_package_and_library():
    pkg = os.path.dirname(os.path.abspath(fastserde.__file__))
    assert not pkg.startswith(os.path.join(SOURCE_TREE, "python") + os.sep), \
        f"imported from the checkout's python/: {pkg}"
    assert os.path.basename(os.path.dirname(pkg)) == "site-packages", pkg
    assert "FASTSERDE_LIBRARY" not in os.environ
    assert fastserde.library_path() == os.path.join(pkg, "libfastserde.so")


@installed
def test_distribution_metadata():
    from importlib import metadata
    dist = metadata.distribution("fastserde")
    assert dist.version == fastserde.__version__
    assert not [r for r in (dist.requires or []) if "torch" in r or "cuda" in r.lower()]
    tags = [line for line in dist.read_text("WHEEL").splitlines() if line.startswith("Tag:")]
    assert tags and all(t.split()[1].startswith("py3-none-") for t in tags), tags
    files = {str(f) for f in dist.files}
    assert "fastserde/libfastserde.so" in files, sorted(files)


@installed
def test_environment_variable_still_overrides(tmp_path):
    env = dict(subprocess_env(), FASTSERDE_LIBRARY=str(tmp_path / "libother.so"))
    code = "import fastserde\ntry:\n    fastserde.library_version()\nexcept OSError as e:\n" \
           "    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=HERE, timeout=120)
    assert "FASTSERDE_LIBRARY is set" in out.stdout and "libother.so" in out.stdout, \
        out.stdout + out.stderr
