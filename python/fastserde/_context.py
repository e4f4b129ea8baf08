"""fastserde contexts from Python: Context, and the lazily created per-process defaults.

A context (fsd_context) owns the staging memory of the CUDA round trip (pinned and device
chunks, allocated once), its streams and events, and the CPU threads of host copies. The C
library allows one thread at a time per context; Context serialises its users with a lock, so
one Context may be shared by threads (they take turns). For parallel work, give each thread its
own Context.

Default contexts: the module-level functions (to_bytes, from_bytes, pack, unpack, and
fastserde.lmcache's classes) use default_context(device): one per CUDA device (and one for host
tensors, which reuses a GPU one when it exists), created on first use and kept for the life of
the process. After os.fork() the child starts with no defaults and makes its own on first use:
the parent's contexts (threads, CUDA state) do not survive a fork and are never touched there.
"""
import ctypes
import os
import threading

from . import _lib


class Context:
    """An fsd_context.

    Context(device=None, chunk_bytes=0, chunks=0, cpu_threads=0, allocator=None)

    device       CUDA device of the staging buffers; None: the current device (or host-only
                 without a GPU).
    chunk_bytes  bytes per pinned/device chunk (a multiple of 4096; 0: the library's default,
                 8 MiB).
    chunks       chunks in the ring, 2..64 (0: default, 3).
    cpu_threads  threads for host copies, the caller's included (0: one per core).
    allocator    optional object with alloc(kind, size, device) -> int address (0 on failure)
                 and free(kind, address, device): allocation hooks (kind 0 host, 1 pinned,
                 2 device), e.g. for accounting. A Context with hooks keeps them alive for the
                 rest of the process, since tensors from from_bytes free through them.

    close() (or leaving a `with` block) destroys it; so does garbage collection.
    """

    _hooks_keepalive = []  # allocator hooks outlive their context (see above)

    def __init__(self, device=None, chunk_bytes=0, chunks=0, cpu_threads=0, allocator=None):
        lib = _lib.load()
        cfg = _lib.ContextConfig.default()
        cfg.device = -1 if device is None else int(device)
        cfg.chunk_bytes = int(chunk_bytes)
        cfg.chunks = int(chunks)
        cfg.cpu_threads = int(cpu_threads)
        if allocator is not None:
            hooks = _make_hooks(allocator)
            Context._hooks_keepalive.append(hooks)
            cfg.allocator.alloc, cfg.allocator.free = hooks
        self._handle = None
        self._lock = threading.Lock()
        self._pid = os.getpid()
        handle = ctypes.c_void_p()
        _lib.check(lib.fsd_context_create(ctypes.byref(handle), ctypes.byref(cfg)),
                   "fsd_context_create")
        self._handle = handle
        self.device = self.memory()["device"]  # -1: host-only

    def memory(self):
        """What the context holds (fsd_context_memory) as a dict."""
        u = _lib.ContextUsage()
        with self.use() as h:
            _lib.check(_lib.load().fsd_context_memory(h, ctypes.byref(u)), "fsd_context_memory")
        return {name: getattr(u, name) for name, _ in _lib.ContextUsage._fields_}

    def use(self):
        """`with ctx.use() as handle:` the C handle, held by this thread alone."""
        return _Use(self)

    def close(self):
        """Destroys the context (waits for its GPU work). Idempotent. In a forked child the
        parent's context is dropped without being destroyed."""
        handle, self._handle = self._handle, None
        if handle is not None and self._pid == os.getpid():
            _lib.load().fsd_context_destroy(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self):
        state = "closed" if self._handle is None else f"device {self.device}"
        return f"<fastserde.Context {state}>"


class _Use:
    def __init__(self, ctx):
        self.ctx = ctx

    def __enter__(self):
        ctx = self.ctx
        if ctx._pid != os.getpid():
            raise RuntimeError("fastserde: this Context was created in another process (before "
                               "a fork); make a new one in this process")
        ctx._lock.acquire()
        if ctx._handle is None:
            ctx._lock.release()
            raise ValueError("fastserde: the Context is closed")
        return ctx._handle

    def __exit__(self, *exc):
        self.ctx._lock.release()


def _make_hooks(allocator):
    def alloc(user, kind, size, device):
        try:
            return int(allocator.alloc(kind, size, device) or 0)
        except Exception:
            return 0

    def free(user, kind, ptr, device):
        try:
            allocator.free(kind, ptr, device)
        except Exception:
            pass

    return _lib.ALLOC_FN(alloc), _lib.FREE_FN(free)


# ---------------------------------------------------------------------------------------------
# Default contexts

_defaults = {}  # CUDA device index (or -1 for a host-only context) -> Context
_defaults_lock = threading.Lock()


def _reset_after_fork():
    global _defaults_lock
    _defaults.clear()  # not closed: see the module docstring
    _defaults_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def default_context(device=None):
    """The process's default Context for CUDA device index `device`, or for host tensors when
    `device` is None (any existing default serves; else one is made on the current device, or
    host-only without a GPU). Created on first use, kept until the process ends."""
    with _defaults_lock:
        if device is None:
            if _defaults:
                return next(iter(_defaults.values()))
            ctx = Context()
        else:
            ctx = _defaults.get(int(device))
            if ctx is not None:
                return ctx
            ctx = Context(device=int(device))  # host-only (device -1) without a GPU
            _defaults[int(device)] = ctx
        _defaults.setdefault(ctx.device, ctx)
        return ctx
