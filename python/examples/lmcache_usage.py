"""The seed's usage: LMCache's serializer/deserializer pair on a KV-cache chunk, with the one
import switched to fastserde. The line LMCache code has is

    from lmcache.storage_backend.serde.fast_serde import FastSerializer, FastDeserializer

and the only change to move to fastserde is the import below. Run it where the package is
installed (see docs/python.md):

    pip install .                   # on Debian 12 in a venv made with --system-site-packages
    python python/examples/lmcache_usage.py

or from a build tree: FASTSERDE_LIBRARY=build/libfastserde.so PYTHONPATH=python.

It prints a SHA-256 of every serialized chunk and checks the round trip; the test
python/tests/test_seed_example.py runs it with both imports and compares the output.
"""
import hashlib

import torch

from fastserde.lmcache import FastSerializer, FastDeserializer

torch.manual_seed(0)

# A KV cache for 4 layers of a small model: [kv, layers, tokens, heads * head_dim], bf16.
kv_cache = torch.randn(2, 4, 1024, 512).to(torch.bfloat16)

serializer = FastSerializer()
deserializer = FastDeserializer(torch.bfloat16)

# LMCache stores 256-token chunks: token slices of the cache (strided views).
for start in range(0, 1024, 256):
    chunk = kv_cache[:, :, start:start + 256]
    data = serializer.to_bytes(chunk)
    restored = deserializer.from_bytes(data).reshape(chunk.shape)
    assert torch.equal(restored, chunk)
    print(f"chunk {start:4d}: {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}")

# A head subset and a layer-major permute, as a retriever might store them.
for name, view in [("heads 128:256", kv_cache[..., 128:256]),
                   ("permuted", kv_cache[:, :, :256].permute(1, 0, 2, 3)),
                   ("float32 keys", kv_cache[0, :, :64].float())]:
    data = serializer.to_bytes(view)
    back = FastDeserializer(view.dtype).from_bytes_normal(data).reshape(view.shape)
    assert torch.equal(back, view)
    print(f"{name}: {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}")
