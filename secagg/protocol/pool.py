"""Clients for the in-process runner: all in this process, or spread over worker processes.

:class:`LocalClients` handles each request in turn. :class:`ProcessClients`
forks worker processes, each owning the clients whose id is congruent to its
index (u - 1 ≡ w mod workers), so that the costs that hold the GIL
(X25519 and Python itself) run on every core. Requests go to the workers
over pipes; replies come back in increasing client id, so the server sees
them in the same order as with one process and the round's bytes are the
same. Large replies (the masked vectors) do not cross a pipe: a worker
writes each into a slot of a shared-memory arena the parent mapped before
forking, and the parent hands the server a read-only view of the slot,
which it frees once the server has folded it.
"""

from __future__ import annotations

import multiprocessing
import pickle
import traceback
from collections.abc import Callable, Iterator, Mapping
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import cast

from ..exceptions import InvalidInputError
from .client import Client

__all__ = ["LocalClients", "ProcessClients", "Reply"]

#: Replies at least this long travel through shared memory instead of a pipe.
SHM_THRESHOLD = 1 << 16
#: Slots per worker: how many large replies may wait for the parent at once.
SLOTS = 3

#: What the runner gets for one client: its id and its replies (bytes, or
#: read-only views that stay valid until the next reply is asked for).
Reply = tuple[int, list[bytes | memoryview]]


class LocalClients:
    """Every client in this process, each request handled in turn."""

    def __init__(self, build: Callable[[int], Client], n: int) -> None:
        self.clients = {u: build(u) for u in range(1, n + 1)}

    def round(self, requests: Mapping[int, bytes], answering: list[int]) -> Iterator[Reply]:
        """The replies of ``answering`` (increasing id) to their requests."""
        for u in answering:
            yield u, list(self.clients[u].handle(requests[u]))

    def notify(self, notices: Mapping[int, bytes]) -> None:
        """Deliver the server's last messages (abort notices) to these clients."""
        for u, data in notices.items():
            self.clients[u].handle(data)

    def close(self) -> None:
        """Nothing to release."""


class ProcessClients:
    """Clients spread over ``workers`` forked processes (Linux, macOS: the fork start method).

    Args:
        build: Makes client u; runs in the worker that owns u.
        n: Number of clients.
        workers: Number of worker processes (>= 2).
        slot_size: The largest reply a client can send (its message size limit).
    """

    def __init__(
        self, build: Callable[[int], Client], n: int, workers: int, slot_size: int
    ) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise InvalidInputError("workers > 1 needs the fork start method (Linux or macOS).")
        ctx = multiprocessing.get_context("fork")
        self.workers = min(workers, n)
        self.slot_size = max(slot_size, SHM_THRESHOLD)
        self.arenas = [
            SharedMemory(create=True, size=self.slot_size * SLOTS) for _ in range(self.workers)
        ]
        self.conns: list[Connection] = []
        self.procs = []
        for w in range(self.workers):
            parent, child = ctx.Pipe()
            ids = list(range(w + 1, n + 1, self.workers))
            proc = ctx.Process(
                target=_serve,
                args=(child, build, ids, self.arenas[w], self.slot_size),
                daemon=True,
            )
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        try:
            for conn in self.conns:
                _check(conn.recv())
        except BaseException:
            self.close()
            raise

    def round(self, requests: Mapping[int, bytes], answering: list[int]) -> Iterator[Reply]:
        """Send each worker its clients' requests, then yield the replies by increasing id."""
        batches: list[list[tuple[int, bytes]]] = [[] for _ in range(self.workers)]
        for u in answering:
            batches[(u - 1) % self.workers].append((u, requests[u]))
        for w, batch in enumerate(batches):
            self.conns[w].send(("round", batch))
        for u in answering:
            w = (u - 1) % self.workers
            kind, who, items = _check(self.conns[w].recv())
            assert kind == "reply" and who == u and isinstance(items, list), (kind, who, u)
            buf = self.arenas[w].buf
            assert buf is not None
            out: list[bytes | memoryview] = []
            slots = []
            for item in items:
                if isinstance(item, tuple):
                    slot, length = item
                    start = slot * self.slot_size
                    out.append(buf[start : start + length].toreadonly())
                    slots.append(slot)
                else:
                    out.append(item)
            yield u, out
            for view in out:
                if isinstance(view, memoryview):
                    view.release()
            for slot in slots:
                self.conns[w].send(("free", slot))

    def notify(self, notices: Mapping[int, bytes]) -> None:
        """Deliver the server's last messages (abort notices) to these clients."""
        batches: list[list[tuple[int, bytes]]] = [[] for _ in range(self.workers)]
        for u, data in notices.items():
            batches[(u - 1) % self.workers].append((u, data))
        for w, batch in enumerate(batches):
            self.conns[w].send(("notify", batch))
        for conn in self.conns:
            _check(conn.recv())

    def close(self) -> None:
        """Stop the workers and release the shared memory."""
        for conn in self.conns:
            try:
                conn.send(("stop", None))
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self.conns:
            conn.close()
        for arena in self.arenas:
            arena.close()
            arena.unlink()


def _check(message: tuple[str, int, object]) -> tuple[str, int, object]:
    """Raise in the parent what a worker raised (the same exception when it pickles)."""
    kind, who, payload = message
    if kind != "error":
        return message
    exc, text = cast("tuple[object, str]", payload)
    if isinstance(exc, BaseException):
        raise exc
    raise RuntimeError(f"client {who} failed in its worker process:\n{text}")


def _failure(exc: BaseException) -> tuple[BaseException | None, str]:
    """The exception if it survives pickling, and its traceback as text."""
    text = traceback.format_exc()
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any pickling failure: send the text only
        return None, text
    return exc, text


def _serve(
    conn: Connection,
    build: Callable[[int], Client],
    ids: list[int],
    arena: SharedMemory,
    slot_size: int,
) -> None:
    """A worker: build its clients, then answer the parent's batches until told to stop."""
    try:
        clients = {}
        for u in ids:
            clients[u] = build(u)
    except BaseException as exc:
        conn.send(("error", u, _failure(exc)))
        return
    conn.send(("ready", 0, None))
    free = list(range(SLOTS))
    buf = arena.buf
    assert buf is not None
    while True:
        kind, payload = conn.recv()
        if kind == "free":
            free.append(payload)
        elif kind == "notify":
            try:
                for u, data in payload:
                    clients[u].handle(data)
            except BaseException as exc:
                conn.send(("error", u, _failure(exc)))
                continue
            conn.send(("done", 0, None))
        elif kind == "round":
            for u, data in payload:
                try:
                    replies = clients[u].handle(data)
                except BaseException as exc:
                    conn.send(("error", u, _failure(exc)))
                    break
                items: list[bytes | tuple[int, int]] = []
                held = 0  # slots this client's replies already fill
                for reply in replies:
                    # The parent frees slots only after it has every reply of
                    # this client: past SLOTS of them, the pipe carries the rest.
                    if len(reply) < SHM_THRESHOLD or held == SLOTS:
                        items.append(reply)
                        continue
                    held += 1
                    while not free:
                        more, slot = conn.recv()
                        assert more == "free"
                        free.append(slot)
                    slot = free.pop()
                    start = slot * slot_size
                    buf[start : start + len(reply)] = reply
                    items.append((slot, len(reply)))
                conn.send(("reply", u, items))
        else:
            break
    del clients, buf
    arena.close()
