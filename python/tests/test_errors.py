"""Errors: C statuses raised as FastSerdeError with the status name and fsd_last_error's
message; argument errors of the binding itself raised as TypeError/ValueError."""
import os
import subprocess
import sys
import threading

import pytest
import torch

import fastserde
from conftest import HERE, subprocess_env
from fastserde import FastSerdeError


def raises_status(name, fn, *args, **kw):
    with pytest.raises(FastSerdeError) as info:
        fn(*args, **kw)
    e = info.value
    assert e.name == name, str(e)
    assert isinstance(e, RuntimeError)
    assert e.message, "the detailed message is empty"
    assert e.function.startswith("fsd_")
    assert name in str(e) and e.message in str(e)
    return e


def test_size_mismatch_from_bytes():
    e = raises_status("FSD_ERROR_SIZE_MISMATCH", fastserde.from_bytes, b"12345", torch.float32)
    assert e.status == 3 and e.function == "fsd_from_bytes"
    assert "5 bytes" in e.message


def test_size_mismatch_unpack_writes_nothing():
    dst = torch.zeros(4, 4)
    for n in (63, 65):
        e = raises_status("FSD_ERROR_SIZE_MISMATCH", fastserde.unpack, bytes(n), dst.t())
        assert e.status == 3
    assert bool((dst == 0).all())


def test_aliasing_unpack_writes_nothing():
    store = torch.arange(12.0)
    dst = store[:4].unsqueeze(0).expand(3, 4)  # stride 0 on a dimension of 3
    before = store.clone()
    e = raises_status("FSD_ERROR_ALIASING", fastserde.unpack, bytes(48), dst)
    assert e.status == 5
    assert torch.equal(store, before)
    overlapping = store.unfold(0, 4, 2)  # windows that share elements
    raises_status("FSD_ERROR_ALIASING", fastserde.unpack, bytes(overlapping.numel() * 4),
                  overlapping)
    assert torch.equal(store, before)


def test_bad_context_config():
    e = raises_status("FSD_ERROR_INVALID_ARGUMENT", fastserde.Context, chunk_bytes=1000)
    assert "4096" in e.message and e.status == 1
    raises_status("FSD_ERROR_INVALID_ARGUMENT", fastserde.Context, chunks=1)
    raises_status("FSD_ERROR_INVALID_ARGUMENT", fastserde.Context, cpu_threads=-1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU status; a GPU is present")
def test_cuda_device_without_gpu():
    e = raises_status("FSD_ERROR_NO_GPU", fastserde.from_bytes, bytes(8), torch.float32, "cuda:0")
    assert e.status == 6


def test_closed_context():
    ctx = fastserde.Context(cpu_threads=1)
    ctx.close()
    ctx.close()  # idempotent
    with pytest.raises(ValueError):
        fastserde.to_bytes(torch.zeros(4), ctx=ctx)


def test_argument_errors():
    with pytest.raises(TypeError):
        fastserde.to_bytes(b"not a tensor")
    with pytest.raises(TypeError):
        fastserde.from_bytes(b"1234", "float32")
    with pytest.raises(ValueError):
        fastserde.from_bytes(b"1234", torch.float32, "meta")
    with pytest.raises(TypeError):
        fastserde.unpack(bytes(16), torch.zeros(8)[::2].numpy())  # dst must be a tensor
    with pytest.raises(ValueError):
        fastserde.unpack(torch.zeros(8)[::2], torch.zeros(4))  # a strided tensor as bytes


def test_message_is_per_thread_and_cleared():
    raised = []

    def fail():
        try:
            fastserde.from_bytes(b"123", torch.int16)
        except FastSerdeError as e:
            raised.append(e)

    th = threading.Thread(target=fail)
    th.start()
    th.join()
    assert raised and "3 bytes" in raised[0].message
    from fastserde import _lib
    fastserde.to_bytes(torch.zeros(2))
    assert _lib.last_error() == ""  # this thread's last call succeeded


def test_library_not_found_is_explained():
    env = dict(subprocess_env(), FASTSERDE_LIBRARY="/nonexistent/libfastserde.so")
    code = ("import torch, fastserde\n"
            "try:\n    fastserde.to_bytes(torch.zeros(4, 4).t())\n"
            "except OSError as e:\n    print('OSError:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=HERE, timeout=120)
    assert "OSError: libfastserde could not be loaded (FASTSERDE_LIBRARY is set)" in out.stdout, \
        out.stdout + out.stderr
    assert "/nonexistent/libfastserde.so" in out.stdout
