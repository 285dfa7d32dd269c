"""The identity provider's signing keys: one current key, older ones kept for a grace period.

Rotation adds a new current key and keeps the previous ones published in the JWKS until
their grace period ends, as Okta and Entra do, so tokens signed before a rotation stay
verifiable while they live.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

Algorithm = Literal["RS256", "ES256"]
GRACE_S = 3600.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: Algorithm
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    retired_at: float | None = None  # when it stopped being current

    @classmethod
    def new(cls, alg: Algorithm) -> SigningKey:
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
        return cls(kid=uuid.uuid4().hex[:16], alg=alg, private=private)

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        raw = (
            RSAAlgorithm.to_jwk(public)
            if isinstance(public, rsa.RSAPublicKey)
            else ECAlgorithm.to_jwk(public)
        )
        return {**json.loads(raw), "kid": self.kid, "alg": self.alg, "use": "sig"}


class KeyRing:
    def __init__(self, alg: Algorithm = "RS256", grace_s: float = GRACE_S) -> None:
        self.grace_s = grace_s
        self._keys = [SigningKey.new(alg)]

    @property
    def current(self) -> SigningKey:
        return self._keys[-1]

    def rotate(self, alg: Algorithm = "RS256", grace_s: float | None = None) -> SigningKey:
        if grace_s is not None:
            self.grace_s = grace_s
        now = time.time()
        self._keys = [
            key if key.retired_at is not None else _retired(key, now) for key in self._keys
        ]
        self._keys.append(SigningKey.new(alg))
        return self.current

    def published(self) -> list[SigningKey]:
        """The current key and every retired one still within its grace period."""
        now = time.time()
        self._keys = [
            key
            for key in self._keys
            if key.retired_at is None or now - key.retired_at < self.grace_s
        ]
        return list(self._keys)


def _retired(key: SigningKey, now: float) -> SigningKey:
    return SigningKey(kid=key.kid, alg=key.alg, private=key.private, retired_at=now)
