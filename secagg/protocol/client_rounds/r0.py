"""R0 AdvertiseKeys: the client judges the server's config and advertises two public keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import crypto
from ...exceptions import InvalidInputError, MalformedMessageError, SecAggError
from ..config import Config
from ..messages import ConfigRequest, KeyAdvert
from ..registry import registry_digest
from ..vocabulary import AbortCode, Mode, Rng, State
from .base import ClientState, Secrets, Session, Step, Trust, input_words, refuse
from .r1 import R1ShareKeys

__all__ = ["R0AdvertiseKeys"]


@dataclass
class R0AdvertiseKeys(ClientState):
    """Waiting for the server's R0 request: the config, its nonce (and signature).

    Attributes:
        client_id: This client's id.
        vector: The input x_u, fixed before the session's keys exist.
    """

    STATE: ClassVar[State] = State.R0_ADVERTISE_KEYS
    EXPECTS: ClassVar[type] = ConfigRequest
    client_id: int
    vector: np.ndarray

    def handle(self, msg: ConfigRequest, trust: Trust, rng: Rng) -> Step:  # type: ignore[override]
        """Check the config against this client's trust anchors, draw the session's
        randomness, advertise c_pk and s_pk (signed in active mode)."""
        config, refusal = _accepted_config(msg, trust)
        if refusal is not None:
            return refusal
        assert config is not None
        if self.client_id > config.n:
            return refuse(
                AbortCode.CONFIG_REFUSED,
                f"this client's id {self.client_id} is outside the config's 1..{config.n}.",
            )
        # A client built for this config checked its input when it was given;
        # one that judges the server's config checks it now.
        problem = input_words(self.vector, config) if trust.config is None else None
        if problem is not None:
            return refuse(AbortCode.INPUT_INVALID, problem)
        sid = config.session_id(msg.nonce)
        if sid != msg.session_id:
            return refuse(
                AbortCode.SESSION_ID_INVALID,
                "the R0 request's session id is not SHA-256(label ‖ nonce ‖ config) of "
                "the config it carries.",
            )
        session = Session(self.client_id, config, msg.nonce, sid)
        secrets, c_pk, s_pk = Secrets.draw(rng, config.t)
        signature = None
        if config.mode is Mode.ACTIVE:
            assert trust.signing_key is not None
            signature = crypto.ed25519_sign(
                trust.signing_key, crypto.advert_message(sid, self.client_id, c_pk, s_pk)
            )
        # The vector is this client's own copy (set_input): it is masked in place in R2.
        words = self.vector.astype(config.dtype, copy=False)
        self.vector = np.zeros(0, dtype=config.dtype)
        nxt = R1ShareKeys(session, secrets, words, c_pk, s_pk)
        return Step(nxt, (KeyAdvert(sid, self.client_id, c_pk, s_pk, signature),))

    def erase(self) -> None:
        """Overwrite the input."""
        self.vector.fill(0)


def _accepted_config(msg: ConfigRequest, trust: Trust) -> tuple[Config | None, Step | None]:
    """The config of an R0 request if this client accepts it, else the refusal."""
    if trust.config is not None:
        if msg.config != trust.config.canonical():
            return None, refuse(
                AbortCode.CONFIG_REFUSED,
                "the R0 request carries another config than the one this client was built for.",
            )
        config = trust.config
    else:
        try:
            config = Config.from_canonical(msg.config)
        except MalformedMessageError as exc:
            return None, refuse(AbortCode.MALFORMED_MESSAGE, str(exc))
    if trust.policy is not None:
        # Checked before anything sized by n is built (policy.max_n).
        try:
            trust.policy.check(config)
        except SecAggError as exc:
            return None, refuse(AbortCode.CONFIG_REFUSED, str(exc))
    if config.mode is not Mode.ACTIVE:
        return config, None
    if trust.signing_key is None or trust.verify_keys is None or trust.authority_vk is None:
        return None, refuse(
            AbortCode.CONFIG_REFUSED,
            "the config asks for active mode, but this client holds no signing key, "
            "registry or config-authority key.",
        )
    if msg.signature is None or not crypto.ed25519_verify(
        trust.authority_vk, crypto.config_message(msg.nonce, msg.config), msg.signature
    ):
        return None, refuse(
            AbortCode.CONFIG_SIGNATURE_INVALID,
            "the config authority's signature on the config does not verify.",
        )
    try:
        digest = registry_digest(trust.verify_keys, config.n)
    except InvalidInputError as exc:
        return None, refuse(AbortCode.REGISTRY_MISMATCH, str(exc))
    if digest != config.registry_digest:
        return None, refuse(
            AbortCode.REGISTRY_MISMATCH,
            "the config's registry digest does not match this client's registry "
            f"({config.registry_digest.hex()[:16]}… vs {digest.hex()[:16]}…).",
        )
    return config, None
