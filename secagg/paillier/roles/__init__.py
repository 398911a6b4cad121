"""The four roles of the Paillier path: client, aggregation server, key holder, committee member."""

from __future__ import annotations

from .client import PaillierClient
from .committee import CommitteeMember
from .keyholder import KeyHolder
from .server import AggregationServer, CombinedSum

__all__ = ["PaillierClient", "AggregationServer", "CombinedSum", "KeyHolder", "CommitteeMember"]
