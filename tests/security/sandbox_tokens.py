"""Tokens shaped like the CDS Hooks sandbox's (https://sandbox.cds-hooks.org): header ``alg``
(ES384 or RS384), ``typ``, ``kid`` and ``jku`` = the sandbox's JWK Set URL; payload ``iss``,
``aud`` = the exact endpoint URL, ``exp``, ``iat`` and a new ``jti`` per call. Keys are made
here and configured statically (no network)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

BASE = "https://cds.example.org"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


@dataclass
class Client:
    """One CDS Client: its issuer, signing key and the JWK Set it publishes."""

    iss: str
    alg: str
    kid: str
    jku: str | None = None
    role: str = "client"
    key: Any = field(default=None)

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = (
                ec.generate_private_key(ec.SECP384R1())
                if self.alg.startswith("ES")
                else rsa.generate_private_key(public_exponent=65537, key_size=2048)
            )

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk = json.loads(algorithm.to_jwk(self.key.public_key()))
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def token(self, path: str, **claims: Any) -> str:
        """A fresh token for ``BASE + path`` (``aud`` is the exact URL, a new ``jti``)."""
        now = int(time.time())
        payload = {
            "iss": self.iss,
            "aud": BASE + path.split("?")[0],
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        headers: dict[str, Any] = {"typ": "JWT", "kid": self.kid}
        if self.jku:
            headers["jku"] = self.jku
        return jwt.encode(payload, self.key, algorithm=self.alg, headers=headers)

    def bearer(self, path: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path, **claims)}"}

    def issuer_config(self, **extra: Any) -> dict[str, Any]:
        """This client as a trusted issuer with its key configured statically."""
        return {"iss": self.iss, "jwks": {"keys": [self.public_jwk()]}, "role": self.role} | extra


def write_auth_config(path: Path, issuers: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"issuers": issuers}), encoding="utf-8")
    return path
