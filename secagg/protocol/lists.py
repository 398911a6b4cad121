"""Lists of client ids on the wire: id-sorted entry lists and id bitmaps.

:class:`Entries` is a u32be count followed by fixed-size entries in strictly
increasing id; :class:`IdSet` is a set of ids as a bitmap over 1..n. Both are
layout fields (:mod:`secagg.protocol.layout`).

An entry list is read behind a checked count (the bytes for every entry must
be present before the first is looked at) and unpacked whole by one
``struct`` per entry shape. Writing checks the list column by column and
packs every entry in one pass; only when a column is not plainly valid is the
list walked entry by entry, to name the entry that breaks a rule. A server
in active mode encodes n lists of n adverts per round, so this matters.
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, field
from itertools import starmap
from typing import Any

from .layout import U32_MAX, Context, Field
from .thresholds import is_int
from .vocabulary import MAX_N
from .wire import IdBitmap, Reader, Writer, bitmap_problem, encode_bitmap

__all__ = ["Entries", "IdSet"]


@dataclass(frozen=True)
class Entries(Field):
    """u32be count, then entries in strictly increasing id, each ``entry(id, *fields)``.

    The count is checked against its cap and the bytes left before any entry
    is read. Ids lie in 1..n (the sibling field ``universe``, else the
    session's n or MAX_N); ``excludes_sender`` forbids the header's sender
    and caps the count at n - 1 (both decoding rules). With ``flag``, a u8
    precedes the count and the last entry field, ``optional`` (a signature),
    is present in every entry exactly when it is 1, which must be exactly in
    active sessions; 1 over no entries is refused, keeping decoding
    canonical. ``sized_by`` names a smaller :class:`Limits` bound (k, for
    lists of neighbours) used only for the largest message size.
    """

    name: str
    entry: type[Any]
    fields: tuple[Field, ...]
    noun: str
    flag: str | None = None
    optional: str | None = None
    universe: str | None = None
    excludes_sender: bool = False
    sized_by: str | None = None
    _records: dict[bool, struct.Struct] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert all(f.code for f in self.fields), "entry fields have fixed sizes"
        assert (self.flag is None) == (self.optional is None)
        assert self.optional in (None, self.fields[-1].name), "the optional field comes last"
        records = {
            signed: struct.Struct(">I" + "".join(f.code for f in self._present(signed)))
            for signed in (True, False)
        }
        object.__setattr__(self, "_records", records)

    def _present(self, signed: bool) -> tuple[Field, ...]:
        return self.fields if signed or self.optional is None else self.fields[:-1]

    def _top(self, ctx: Context) -> int:
        if self.universe is not None:
            return int(ctx.values[self.universe])
        return MAX_N if ctx.limits is None else ctx.limits.n

    def write(self, w: Writer, value: Any, ctx: Context) -> None:
        if not isinstance(value, (tuple, list)):
            raise ctx.fail(f"field {self.name} must be a tuple, got {type(value).__name__}.")
        width = 1 + len(self.fields)
        if not all(isinstance(item, tuple) and len(item) == width for item in value):
            raise ctx.fail(f"each {self.name} entry must be a {self.entry.__name__}.")
        signed = self.flag is None or (bool(value) and value[0][-1] is not None)
        if self.flag is not None:
            w.uint(1, int(signed), self.flag)
        w.uint(4, len(value), "count")
        rows = self._plain_rows(value, signed)
        if rows is not None:
            w.raw(b"".join(starmap(self._records[signed].pack, rows)))
        else:
            self._write_each(w, value, signed, ctx)

    def _plain_rows(self, value: Any, signed: bool) -> Any:
        """The entries as rows to pack when every column is plainly valid, else None."""
        ids = [item[0] for item in value]
        if ids and (set(map(type, ids)) - {int} or not 0 < ids[0] or ids[-1] > U32_MAX):
            return None
        if not all(map(operator.lt, ids, ids[1:])):
            return None
        for j, f in enumerate(self._present(signed), 1):
            if not f.plain([item[j] for item in value]):
                return None
        if signed or self.optional is None:
            return value
        if any(item[-1] is not None for item in value):
            return None
        return [item[:-1] for item in value]

    def _write_each(self, w: Writer, value: Any, signed: bool, ctx: Context) -> None:
        """Check and pack entry by entry, naming the first entry that breaks a rule."""
        present, pack = self._present(signed), self._records[signed].pack
        ctx.noun, prev = self.noun, 0
        for item in value:
            ident = item[0]
            if not is_int(ident) or not prev < ident <= U32_MAX:
                raise ctx.fail(f"{self.noun} id {ident!r} after {prev} is not a larger u32.")
            ctx.entry = prev = int(ident)
            if self.optional is not None and (item[-1] is not None) != signed:
                raise ctx.fail(f"either every entry carries a {self.optional} or none does.")
            w.raw(pack(prev, *[f.prepare(v, ctx) for f, v in zip(present, item[1:], strict=False)]))
        ctx.entry = None

    def read(self, r: Reader, ctx: Context) -> Any:
        signed = True
        if self.flag is not None:
            signed = r.flag(self.flag)
            problem = ctx.signatures(signed)
            if problem is not None:
                raise ctx.fail(problem)
        top = self._top(ctx)
        record = self._records[signed]
        count = r.count(self.noun, top - 1 if self.excludes_sender else top, record.size)
        if self.flag is not None and signed and count == 0:
            # The encoder derives the flag from the entries: keep decoding canonical.
            raise ctx.fail(f"{self.flag} is 1 but the list is empty.")
        checks = [(j, f) for j, f in enumerate(self._present(signed), 1) if f.checked]
        tail = () if signed or self.optional is None else (None,)
        out, prev, ctx.noun = [], 0, self.noun
        for values in r.records(count, record, self.noun):
            prev = r.check_id(values[0], prev, top, self.noun)
            if self.excludes_sender and prev == ctx.sender:
                raise ctx.fail(f"{self.noun} {prev} is the sender itself.")
            if checks:
                ctx.entry, values = prev, list(values)  # type: ignore[assignment]
                for j, f in checks:
                    values[j] = f.accept(values[j], ctx)  # type: ignore[index]
            out.append(self.entry(*values, *tail))
        ctx.entry = None
        return tuple(out)

    def max_size(self, ctx: Context) -> int:
        assert ctx.limits is not None
        top = self._top(ctx)
        cap = top - 1 if self.excludes_sender else top
        if self.sized_by is not None:
            cap = min(cap, getattr(ctx.limits, self.sized_by))
        signed = self.flag is None or ctx.limits.active
        return (0 if self.flag is None else 1) + 4 + cap * self._records[signed].size


@dataclass(frozen=True)
class IdSet(Field):
    """A set of client ids as a bitmap over 1..n, n being the sibling field ``universe``."""

    name: str
    universe: str

    def write(self, w: Writer, value: Any, ctx: Context) -> None:
        n = int(ctx.values[self.universe])
        if isinstance(value, IdBitmap) and len(value.bitmap) == (n + 7) // 8:
            if bitmap_problem(value.bitmap, n, self.name) is None:
                w.raw(value.bitmap)
                return
        if not isinstance(value, (tuple, list, IdBitmap)):
            raise ctx.fail(f"field {self.name} must be a tuple, got {type(value).__name__}.")
        prev = 0
        for ident in value:
            if not is_int(ident) or not prev < ident <= n:
                raise ctx.fail(f"{self.name} id {ident!r} after {prev} is not a larger id <= {n}.")
            prev = int(ident)
        w.raw(encode_bitmap([v - 1 for v in value], n))

    def read(self, r: Reader, ctx: Context) -> Any:
        n = int(ctx.values[self.universe])
        raw = r.take((n + 7) // 8, self.name)
        problem = bitmap_problem(raw, n, self.name)
        if problem is not None:
            raise ctx.fail(problem)
        return IdBitmap(raw, n)

    def max_size(self, ctx: Context) -> int:
        return (int(ctx.values[self.universe]) + 7) // 8
