"""Keys and JWTs the tests make themselves: an RSA and an EC key pair, their JWKS, tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://login.example.test/realms/mitl"
AUDIENCE = "mitl-platform"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks() -> dict[str, Any]:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    ec_jwk = json.loads(ECAlgorithm.to_jwk(EC_KEY.public_key()))
    return {
        "keys": [
            rsa_jwk | {"kid": "rsa-1", "alg": "RS256", "use": "sig"},
            ec_jwk | {"kid": "ec-1", "alg": "ES256", "use": "sig"},
        ]
    }


def write_jwks(folder: Path) -> Path:
    path = folder / "jwks.json"
    path.write_text(json.dumps(jwks()))
    return path


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "roles": ["auditor"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(
    key: Any = None, algorithm: str = "RS256", kid: str | None = "rsa-1", **overrides: Any
) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(
        claims(**overrides), key if key is not None else RSA_KEY, algorithm, headers=headers
    )
