"""The reference: LMCache's FastSerializer / FastDeserializer as the seed defines them
(lmcache/storage_backend/serde/fast_serde.py), re-implemented from their documented one-line
bodies, without LMCache's abstract base classes. fastserde.lmcache must match these byte for
byte. Not part of the package: tests and the usage example import it.
"""
import torch


class FastSerializer:
    def __init__(self):
        pass

    def to_bytes(self, t: torch.Tensor) -> bytes:
        # the seed's code path: make the tensor contiguous on the host, then its raw bytes
        return t.contiguous().cpu().view(torch.uint8).numpy().tobytes()


class FastDeserializer:
    def __init__(self, dtype):
        self.dtype = dtype

    def from_bytes_normal(self, b: bytes) -> torch.Tensor:
        return torch.frombuffer(b, dtype=self.dtype)

    def from_bytes(self, b: bytes) -> torch.Tensor:
        return self.from_bytes_normal(b)
