"""fastserde contexts from Python: Context, and the lazily created per-process defaults.

A context (fsd_context) owns the staging memory of the CUDA round trip (pinned and device
chunks, allocated once), its streams and events, and the CPU threads of host copies. The C
library allows one thread at a time per context; Context serialises its users with a lock, so
one Context may be shared by threads (they take turns). For parallel work, give each thread its
own Context.

Default contexts: the module-level functions (to_bytes, from_bytes, pack, unpack, and
fastserde.lmcache's classes) use default_context(device): one per CUDA device (and one for host
tensors, which reuses a GPU one when it exists), created on first use and kept for the life of
the process. Closing one (close(), or a `with` block around default_context()) frees it, and
the next call makes a new one; calls in flight on it finish first. After os.fork() the child starts with no defaults and makes its own on first use:
the parent's contexts (threads, CUDA state) do not survive a fork and are never touched there.
"""
import ctypes
import os
import threading

import torch

from . import _args, _lib


class Context:
    """An fsd_context.

    Context(device=None, chunk_bytes=0, chunks=0, cpu_threads=0, allocator=None)

    device       CUDA device of the staging buffers, as torch names it: an index, "cuda:N",
                 torch.device("cuda", N); None or "cuda": the current device (host-only
                 without a GPU).
    chunk_bytes  bytes per pinned/device chunk (a multiple of 4096; 0: the library's default,
                 FSD_DEFAULT_CHUNK_BYTES, 4 MiB).
    chunks       chunks in the ring, 2..64 (0: the default, FSD_DEFAULT_CHUNKS, 3).
    cpu_threads  threads for host copies, the caller's included (0: one per core).
    allocator    optional object with alloc(kind, size, device) -> int address (0 on failure)
                 and free(kind, address, device): allocation hooks (kind 0 host, 1 pinned,
                 2 device), e.g. for accounting. A Context with hooks keeps them alive for the
                 rest of the process, since tensors from from_bytes free through them.

    Integers are range-checked (ValueError) before they reach C. close() (or leaving a `with`
    block) destroys it, after the calls in flight on it (other threads') have returned; so does
    garbage collection.
    """

    _hooks_keepalive = []  # allocator hooks outlive their context (see above)

    def __init__(self, device=None, chunk_bytes=0, chunks=0, cpu_threads=0, allocator=None):
        lib = _lib.load()
        cfg = _lib.ContextConfig.default()
        cfg.device = _args.cuda_index("device", device)
        cfg.chunk_bytes = _args.c_size_t("chunk_bytes", chunk_bytes)
        cfg.chunks = _args.c_int("chunks", chunks)
        cfg.cpu_threads = _args.c_int("cpu_threads", cpu_threads)
        if allocator is not None:
            hooks = _make_hooks(allocator)
            Context._hooks_keepalive.append(hooks)
            cfg.allocator.alloc, cfg.allocator.free = hooks
        self._handle = None
        self._lock = threading.Lock()  # held by each call, and by close()
        self._user = None              # the thread holding it for a call
        self._pid = _pid
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

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Destroys the context once the calls in flight on it have returned (waits for its
        GPU work). Idempotent. In a forked child the parent's context is dropped without being
        destroyed. RuntimeError when called from inside a call on this context (an allocation
        hook), which would wait for itself."""
        if self._pid != _pid:
            self._handle = None
            return
        if self._user == threading.get_ident():
            raise RuntimeError("fastserde: Context.close() from inside a call on it")
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is not None:
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


class ClosedError(ValueError):
    """The Context is closed."""


class _Use:
    __slots__ = ("ctx",)

    def __init__(self, ctx):
        self.ctx = ctx

    def __enter__(self):
        ctx = self.ctx
        if ctx._pid != _pid:
            raise RuntimeError("fastserde: this Context was created in another process (before "
                               "a fork); make a new one in this process")
        ctx._lock.acquire()
        if ctx._handle is None:
            ctx._lock.release()
            raise ClosedError("fastserde: the Context is closed")
        ctx._user = threading.get_ident()
        return ctx._handle

    def __exit__(self, *exc):
        self.ctx._user = None
        self.ctx._lock.release()


class _DefaultUse:
    """`with using(device, None) as handle:` on the default context of `device`; one closed
    by another thread meanwhile is replaced by a new one."""
    __slots__ = ("key", "use")

    def __init__(self, key):
        self.key = key
        self.use = None

    def __enter__(self):
        while True:
            self.use = _Use(default_context(self.key))
            try:
                return self.use.__enter__()
            except ClosedError:
                continue

    def __exit__(self, *exc):
        self.use.__exit__(*exc)


def using(device, ctx):
    """`with using(device, ctx) as handle:` the C handle of `ctx`, or of the default context
    for torch.device `device` (CUDA: its index; else the host default), held by this thread."""
    if ctx is not None:
        return ctx.use()
    if device.type == "cuda":
        return _DefaultUse(device.index if device.index is not None else _current_cuda())
    return _DefaultUse(None)


def _current_cuda():
    return torch.cuda.current_device() if torch.cuda.is_available() else 0


def _make_hooks(allocator):
    def alloc(user, kind, size, device):
        try:
            address = allocator.alloc(kind, size, device) or 0
            return _args.integer("address", address, 0, _args.UINTPTR_MAX)
        except Exception:  # a failed allocation, to C
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
_host_default = None  # what default_context() last gave for host tensors


_pid = os.getpid()  # this process's id, kept by the fork hook (os.getpid() is a system call)


def _reset_after_fork():
    global _defaults_lock, _pid, _host_default
    _pid = os.getpid()
    _host_default = None
    _defaults.clear()  # not closed: see the module docstring
    _defaults_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def default_context(device=None):
    """The process's default Context for CUDA device `device` (an index, "cuda", "cuda:N",
    torch.device), or for host tensors when `device` is None (any open default serves; else one
    is made on the current device, or host-only without a GPU). Created on first use, kept until
    the process ends; one that was closed is replaced by a new one."""
    global _host_default
    if device is None:
        ctx = _host_default
        if ctx is not None and not ctx.closed:  # the common case, without the lock
            return ctx
    else:
        device = _args.cuda_index("device", device)
        if device == -1:
            device = _current_cuda()
        ctx = _defaults.get(device)
        if ctx is not None and not ctx.closed:  # the common case, without the lock
            return ctx
    with _defaults_lock:
        for key in [k for k, c in _defaults.items() if c.closed]:
            del _defaults[key]
        if device is None:
            ctx = next(iter(_defaults.values())) if _defaults else Context()
            _host_default = ctx
        else:
            ctx = _defaults.get(device)
            if ctx is not None:
                return ctx
            ctx = Context(device=device)  # host-only (device -1) without a GPU
            _defaults[device] = ctx
        _defaults.setdefault(ctx.device, ctx)
        return ctx
