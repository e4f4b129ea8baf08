"""Closing contexts: close() waits for the calls in flight on the context (it did not take the
context's lock: closing while another thread's call ran was a use-after-free in the thread pool,
seen by ASan 2 runs in 3), and a closed default context is replaced on next use (`with
fastserde.default_context():` closed it for the rest of the process)."""
import subprocess
import sys
import threading

import pytest
import torch

import fastserde
from conftest import HERE, subprocess_env


def test_close_waits_for_a_call_in_flight():
    ctx = fastserde.Context(cpu_threads=1)
    entered, release = threading.Event(), threading.Event()

    def call():
        with ctx.use():
            entered.set()
            release.wait(30)

    th = threading.Thread(target=call)
    th.start()
    assert entered.wait(30)
    closer = threading.Thread(target=ctx.close)
    closer.start()
    closer.join(0.5)
    assert closer.is_alive(), "close() returned while a call was in flight"
    assert not ctx.closed
    release.set()
    th.join(30)
    closer.join(30)
    assert ctx.closed
    with pytest.raises(ValueError, match="closed"):
        fastserde.to_bytes(torch.zeros(2), ctx=ctx)


def test_close_from_inside_a_call_refused():
    with fastserde.Context(cpu_threads=1) as ctx:
        with ctx.use():
            with pytest.raises(RuntimeError, match="inside a call"):
                ctx.close()
        assert not ctx.closed


STRESS = """
import threading, time, torch, fastserde
x = torch.randn(4096, 4096)[:, ::2]  # 32 MiB strided: the context's CPU threads copy it
for round in range(4):
    ctx = fastserde.Context(cpu_threads=2)
    started, errors = threading.Event(), []
    def work():
        started.set()
        try:
            for _ in range(4):
                assert len(fastserde.to_bytes(x, ctx=ctx)) == 32 << 20
        except ValueError as e:  # closed: expected once close() has run
            if "closed" not in str(e):
                errors.append(e)
        except Exception as e:
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.005 * (round + 1))  # close while a call copies
    ctx.close()
    for t in threads:
        t.join()
    assert not errors, errors
print("ok")
"""


def test_close_while_other_threads_call():
    """Run in a child interpreter (a use-after-free may kill it); under a sanitized build the
    child inherits the preloaded ASan runtime, which reports any use after free."""
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", STRESS], env=subprocess_env(HERE),
                             capture_output=True, text=True, timeout=300, cwd=HERE)
        assert out.returncode == 0 and out.stdout == "ok\n", out.stdout + out.stderr[-4000:]


def test_closed_default_context_is_replaced():
    x = torch.arange(6, dtype=torch.int16).flip(0)
    with fastserde.default_context() as c:
        assert fastserde.to_bytes(x) == x.numpy().tobytes()
    assert c.closed
    assert fastserde.to_bytes(x) == x.numpy().tobytes()
    d = fastserde.default_context()
    assert d is not c and not d.closed
    assert fastserde.default_context() is d
    assert fastserde.from_bytes(b"1234", torch.int32).numel() == 1


def test_default_closed_while_other_threads_use_it():
    x = torch.randn(256, 256).t()
    want = x.contiguous().numpy().tobytes()
    stop, errors, calls = threading.Event(), [], [0]

    def work():
        while not stop.is_set():
            try:
                assert fastserde.to_bytes(x) == want
                calls[0] += 1
            except Exception as e:  # noqa: BLE001 (any failure is the test's failure)
                errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(20):
        fastserde.default_context().close()
        threading.Event().wait(0.005)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert calls[0] > 0
