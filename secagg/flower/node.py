"""What a node keeps outside Flower's ``context.state``: the state key and the sequence journal.

PROTOCOL.md §13 keeps a client session between messages as a sealed blob
(the per-node ``context.state`` is the right place for it), but the key that
opens the blob and the sequence number that stops an old copy from
restoring must live elsewhere. A :class:`NodeStore` is a directory on the
node, readable by the node operator only, holding:

- ``state.key``: 32 random bytes, the key sealing this node's blobs. The
  operator provisions it (or it is created on first use, mode 0600);
- ``journal``: an append-only log, one line per change: a session id, the
  sequence number the next restore must present (``-1`` once the session
  ended) and the digest of the request that set it. The last line of a
  session wins. Lines are appended under an exclusive lock in one
  ``write`` each; a torn last line (a process killed mid-write, before any
  reply could leave) is ignored. When the log holds more than twice
  :data:`JOURNAL_LIMIT` lines it is rewritten with the newest
  :data:`JOURNAL_LIMIT` sessions.

Neither the key nor the counter ever enters ``context.state``: a copy of the
state (a rollback) is useless without the counter, which only moves forward.

The journal is not fsynced by default: Flower 1.42 keeps ``context.state``
in the SuperNode's memory, so a power loss that could roll the journal back
also loses every blob it orders. An integrator who persists
``context.state`` sets ``secagg-durable=true`` in the node config (or
``durable=True``) to fsync each change.

The directory is the node config entry ``secagg-dir`` (``flower-supernode
--node-config "secagg-dir='/var/lib/secagg'"``), else the environment
variable ``SECAGG_FLOWER_DIR``, else ``$FLWR_HOME/secagg/node-<node id>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flwr.supercore.utils import get_flwr_home

from ..exceptions import InvalidInputError, ProtocolViolationError

__all__ = ["NodeStore", "JOURNAL_LIMIT", "KEY_LEN"]

#: Sessions the journal remembers (older ones are forgotten first).
JOURNAL_LIMIT = 512
#: Bytes of the state key.
KEY_LEN = 32
#: Node config entry naming the directory.
DIR_KEY = "secagg-dir"
#: Environment variable naming the directory.
DIR_ENV = "SECAGG_FLOWER_DIR"
#: Node config entry asking for fsynced journal changes.
DURABLE_KEY = "secagg-durable"

_DONE = -1
_LINE = re.compile(rb"^([0-9a-f]{64}) (-1|[0-9]{1,18}) ([0-9a-f]{64})?$")


class _Log:
    """The journal file, locked: look up a session's last line, append a change.

    A lookup searches the log backwards for the session id at the start of a
    complete line, so its cost does not grow with the number of sessions
    parsed; only the rare rewrite parses every line.
    """

    def __init__(self, handle: Any, durable: bool) -> None:
        self.handle = handle
        self.durable = durable
        handle.seek(0)
        self.content: bytes = handle.read()
        # A torn last line must not swallow the next change: start it afresh.
        self.torn = bool(self.content) and not self.content.endswith(b"\n")
        self.changes: dict[str, tuple[int, bytes]] = {}

    def get(self, sid: str) -> tuple[int, bytes] | None:
        """The session's last (counter, digest), or None if it is not in the log."""
        if sid in self.changes:
            return self.changes[sid]
        content, key = self.content, sid.encode()
        complete = content.rfind(b"\n") + 1  # a torn last line never took effect
        pos = content.rfind(key, 0, complete)
        while pos >= 0:
            if pos == 0 or content[pos - 1] == 0x0A:
                line = content[pos : content.index(b"\n", pos)]
                match = _LINE.match(line)
                if match is not None:
                    return _parse(match)
            pos = content.rfind(key, 0, pos)
        return None

    def set(self, sid: str, seq: int, digest: bytes) -> None:
        """Append a change (or rewrite the log once it holds too many lines)."""
        self.changes[sid] = (seq, digest)
        if self.content.count(b"\n") + len(self.changes) > 2 * JOURNAL_LIMIT:
            self._rewrite()
            return
        self.handle.seek(0, os.SEEK_END)
        line = f"{sid} {seq} {digest.hex()}\n".encode()
        self.handle.write(b"\n" + line if self.torn else line)
        self.torn = False
        self.handle.flush()
        if self.durable:
            os.fsync(self.handle.fileno())

    def _rewrite(self) -> None:
        entries: dict[str, tuple[int, bytes]] = {}
        for raw in self.content.split(b"\n"):
            match = _LINE.match(raw)
            if match is not None:
                sid = match.group(1).decode()
                entries.pop(sid, None)  # insertion order = order of last change
                entries[sid] = _parse(match)
        for sid, entry in self.changes.items():
            entries.pop(sid, None)
            entries[sid] = entry
        newest = list(entries.items())[-JOURNAL_LIMIT:]
        body = "".join(f"{sid} {seq} {d.hex()}\n" for sid, (seq, d) in newest).encode()
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(body)
        self.handle.flush()
        self.content, self.changes, self.torn = body, {}, False
        if self.durable:
            os.fsync(self.handle.fileno())


def _parse(match: re.Match[bytes]) -> tuple[int, bytes]:
    digest = bytes.fromhex(match.group(3).decode()) if match.group(3) else b""
    return int(match.group(2)), digest


class Resumed:
    """A running session's journal entry, with the journal locked.

    Attributes:
        counter: The sequence number the next restore must present.
        last: Digest of the request that set the counter.
    """

    def __init__(self, log: _Log, sid: str, counter: int, last: bytes) -> None:
        self._log, self._sid = log, sid
        self.counter, self.last = counter, last

    def advance(self, digest: bytes) -> None:
        """Move the counter one step (the blob numbered ``counter`` never restores again)."""
        self._log.set(self._sid, self.counter + 1, digest)
        self.counter += 1
        self.last = digest


class NodeStore:
    """The node-local key and sequence journal of the client sessions.

    Args:
        directory: The directory (created with mode 0700 if missing).
        durable: fsync every journal change before returning.
    """

    def __init__(self, directory: Path | str, *, durable: bool = False) -> None:
        self.directory = Path(directory)
        self.durable = durable

    @classmethod
    def for_node(cls, node_config: Mapping[str, Any], node_id: int) -> NodeStore:
        """The store a node's config (or the environment) points to.

        Args:
            node_config: The SuperNode's node config.
            node_id: The node's id (names the default directory).

        Returns:
            The NodeStore.

        Raises:
            InvalidInputError: ``secagg-dir`` is given but is not a non-empty
                string, or ``secagg-durable`` is not a boolean.
        """
        durable = node_config.get(DURABLE_KEY, False)
        if not isinstance(durable, bool):
            raise InvalidInputError(f"node config {DURABLE_KEY} must be true or false.")
        configured = node_config.get(DIR_KEY)
        if configured is not None:
            if not isinstance(configured, str) or not configured:
                raise InvalidInputError(
                    f"node config {DIR_KEY} must be a directory path, got {configured!r}."
                )
            return cls(Path(configured).expanduser(), durable=durable)
        from_env = os.environ.get(DIR_ENV)
        if from_env:
            return cls(Path(from_env).expanduser(), durable=durable)
        return cls(get_flwr_home() / "secagg" / f"node-{node_id}", durable=durable)

    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def key(self) -> bytes:
        """The 32-byte state key, created from the OS CSPRNG on first use.

        Raises:
            InvalidInputError: The key file exists but does not hold 32 bytes.
        """
        path = self.directory / "state.key"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return self._create_key(path)
        if len(data) != KEY_LEN:
            raise InvalidInputError(
                f"the state key {path} must hold {KEY_LEN} bytes, it holds {len(data)}."
            )
        return data

    def _create_key(self, path: Path) -> bytes:
        self._ensure_dir()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile
            return self.key()
        key = os.urandom(KEY_LEN)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        return key

    @contextlib.contextmanager
    def _journal(self) -> Iterator[_Log]:
        path = self.directory / "journal"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:  # first use: make the directory
            self._ensure_dir()
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b", buffering=0) as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield _Log(handle, self.durable)

    def begin(self, session_id: bytes, digest: bytes) -> None:
        """Record a new session (its R0 request); the blob it exports carries 0.

        Raises:
            ProtocolViolationError: The session id is already known here: a
                session starts once per node.
        """
        sid = session_id.hex()
        with self._journal() as log:
            if log.get(sid) is not None:
                raise ProtocolViolationError(
                    f"session {sid[:16]} already started on this node; it is not started again."
                )
            log.set(sid, 0, digest)

    def position(self, session_id: bytes) -> tuple[int, bytes]:
        """The session's counter and the digest of the request that set it.

        Raises:
            ProtocolViolationError: The session is unknown here or has ended.
        """
        sid = session_id.hex()
        with self._journal() as log:
            entry = log.get(sid)
        if entry is None or entry[0] == _DONE:
            raise ProtocolViolationError(
                f"session {sid[:16]} is not running on this node; its state is not restored."
            )
        return entry

    @contextlib.contextmanager
    def resume(self, session_id: bytes) -> Iterator[Resumed]:
        """Hold the journal locked while a session is restored and its counter advanced.

        Raises:
            ProtocolViolationError: The session is unknown here or has ended.
        """
        sid = session_id.hex()
        with self._journal() as log:
            entry = log.get(sid)
            if entry is None or entry[0] == _DONE:
                raise ProtocolViolationError(
                    f"session {sid[:16]} is not running on this node; its state is not restored."
                )
            yield Resumed(log, sid, entry[0], entry[1])

    def advance(self, session_id: bytes, seq: int, digest: bytes) -> None:
        """Move the counter from ``seq`` to ``seq + 1``, recording the request's digest.

        Call it after restoring the blob numbered ``seq`` and before handing
        the restored session any message: that blob can then never restore again.

        Raises:
            ProtocolViolationError: The counter is no longer ``seq`` (another
                process advanced it) or the session has ended.
        """
        sid = session_id.hex()
        with self._journal() as log:
            entry = log.get(sid)
            if entry is None or entry[0] != seq:
                raise ProtocolViolationError(
                    f"the counter of session {sid[:16]} moved on; this state is not used."
                )
            log.set(sid, seq + 1, digest)

    def finish(self, session_id: bytes) -> None:
        """Mark a session ended: nothing of it restores again."""
        with self._journal() as log:
            log.set(session_id.hex(), _DONE, b"")
