"""What a node keeps outside Flower's ``context.state``: the state key and the sequence journal.

PROTOCOL.md §13 keeps a client session between messages as a sealed blob
(the per-node ``context.state`` is the right place for it), but the key that
opens the blob and the sequence number that stops an old copy from
restoring must live elsewhere. A :class:`NodeStore` is a directory on the
node, readable by the node operator only, holding:

- ``state.key``: 32 random bytes, the key sealing this node's blobs. The
  operator provisions it (or it is created on first use, mode 0600);
- ``journal.json``: per session id, the sequence number the next restore
  must present and the digest of the request that advanced it. Updates are
  atomic (write, fsync, rename) under an exclusive lock, and the journal
  keeps the last :data:`JOURNAL_LIMIT` sessions.

The directory is the node config entry ``secagg-dir`` (``flower-supernode
--node-config "secagg-dir='/var/lib/secagg'"``), else the environment
variable ``SECAGG_FLOWER_DIR``, else ``$FLWR_HOME/secagg/node-<node id>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
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

_DONE = -1


class NodeStore:
    """The node-local key and sequence journal of the client sessions.

    Args:
        directory: The directory (created with mode 0700 if missing).
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    @classmethod
    def for_node(cls, node_config: Mapping[str, Any], node_id: int) -> NodeStore:
        """The store a node's config (or the environment) points to.

        Raises:
            InvalidInputError: ``secagg-dir`` is given but is not a non-empty string.
        """
        configured = node_config.get(DIR_KEY)
        if configured is not None:
            if not isinstance(configured, str) or not configured:
                raise InvalidInputError(
                    f"node config {DIR_KEY} must be a directory path, got {configured!r}."
                )
            return cls(Path(configured).expanduser())
        from_env = os.environ.get(DIR_ENV)
        if from_env:
            return cls(Path(from_env).expanduser())
        return cls(get_flwr_home() / "secagg" / f"node-{node_id}")

    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def key(self) -> bytes:
        """The 32-byte state key, created from the OS CSPRNG on first use.

        Raises:
            InvalidInputError: The key file exists but does not hold 32 bytes.
        """
        self._ensure_dir()
        path = self.directory / "state.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            data = path.read_bytes()
            if len(data) != KEY_LEN:
                raise InvalidInputError(
                    f"the state key {path} must hold {KEY_LEN} bytes, it holds {len(data)}."
                ) from None
            return data
        key = os.urandom(KEY_LEN)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        return key

    @contextlib.contextmanager
    def _journal(self) -> Iterator[dict[str, list[Any]]]:
        """The journal, locked; changes are written back atomically on exit."""
        self._ensure_dir()
        with open(self.directory / "journal.lock", "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            path = self.directory / "journal.json"
            try:
                entries: dict[str, list[Any]] = json.loads(path.read_text())
            except FileNotFoundError:
                entries = {}
            before = json.dumps(entries)
            yield entries
            if json.dumps(entries) != before:
                while len(entries) > JOURNAL_LIMIT:
                    del entries[next(iter(entries))]
                tmp = path.with_suffix(".tmp")
                with open(tmp, "w") as handle:
                    json.dump(entries, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)

    def begin(self, session_id: bytes, digest: bytes) -> None:
        """Record a new session (its R0 request); the blob it exports carries 0.

        Raises:
            ProtocolViolationError: The session id is already known here: a
                session starts once per node.
        """
        sid = session_id.hex()
        with self._journal() as entries:
            if sid in entries:
                raise ProtocolViolationError(
                    f"session {sid[:16]} already started on this node; it is not started again."
                )
            entries[sid] = [0, digest.hex()]

    def advance(self, session_id: bytes, blob_seq: int, digest: bytes) -> int:
        """The sequence number to restore a blob with, advancing the counter first.

        A blob whose number equals the counter advances it (and the request's
        digest is recorded); the blob just before it restores again only for
        the very request that advanced the counter, which replays the same
        bytes (PROTOCOL.md §13's determinism). Anything else is refused.

        Raises:
            ProtocolViolationError: Unknown or finished session, or a stale blob.
        """
        sid = session_id.hex()
        with self._journal() as entries:
            entry = entries.get(sid)
            if entry is None or entry[0] == _DONE:
                raise ProtocolViolationError(
                    f"session {sid[:16]} is not running on this node; its state is not restored."
                )
            counter, last = int(entry[0]), str(entry[1])
            if blob_seq == counter:
                entries[sid] = [counter + 1, digest.hex()]
                return counter
            if blob_seq == counter - 1 and last == digest.hex():
                return blob_seq
            raise ProtocolViolationError(
                f"the stored state of session {sid[:16]} is stale (sequence {blob_seq}, "
                f"the node's counter is {counter}); it is not restored."
            )

    def finish(self, session_id: bytes) -> None:
        """Mark a session ended: nothing of it restores again."""
        with self._journal() as entries:
            entries[session_id.hex()] = [_DONE, ""]
