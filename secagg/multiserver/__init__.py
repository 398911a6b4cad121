"""Multi-server additive sharing: S servers, each client's vector split into S shares.

Each client splits its encoded vector x in Z_2^b into S additive shares: S - 1
travel as 32-byte seeds sealed to the servers' pinned X25519 keys (expanded by
the compiled core), the last server gets the explicit correction vector. Any
S - 1 servers together learn nothing about x; all S release partial sums over
one agreed client set U, whose total is Σ_{u∈U} x_u. docs/multiserver.md
describes the roles, formats and guarantees.

Roles:
    client:   :func:`split_update` -> one signed ShareBundle per server.
    server:   :class:`ShareServer` -- ``receive`` bundles, ``sign`` one set
              statement, ``release`` one partial sum (durable state).
    combiner: :func:`combine` -> the sum over U.
    local:    :func:`run_session` runs all of them in one process.
"""

from __future__ import annotations

from .client import split_update
from .combiner import CombinedSum, combine
from .local import ServerView, SessionOutcome, run_session
from .params import MultiServerConfig
from .server import ShareServer
from .wire import PartialSum, ReleaseRequest, SetSignature, SetStatement, ShareBundle

__all__ = [
    "MultiServerConfig",
    "split_update",
    "ShareServer",
    "combine",
    "CombinedSum",
    "run_session",
    "SessionOutcome",
    "ServerView",
    "ShareBundle",
    "SetStatement",
    "SetSignature",
    "ReleaseRequest",
    "PartialSum",
]
