"""OIDC JWTs with keys the test generates: a good token gives the subject and its roles; every
bad one (alg none, an HMAC forged with the public key, wrong audience or issuer, expired, not
yet valid, unknown key, another key's signature, garbage) is refused with the same message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from mitl_runtime.auth.errors import NOT_VALID, Unauthenticated
from mitl_runtime.auth.oidc import FileKeys, OidcVerifier, claim_at, roles_from

from tests.unit.runtime.auth import keys


@pytest.fixture
def verifier(tmp_path: Path) -> OidcVerifier:
    return OidcVerifier(
        keys.ISSUER, keys.AUDIENCE, FileKeys.read(keys.write_jwks(tmp_path)), leeway_s=0
    )


def test_a_good_token_gives_its_subject_and_known_roles(verifier: OidcVerifier) -> None:
    found = verifier.verify(keys.token(roles=["auditor", "admin", "client", "owner"]))
    assert (found.subject, found.roles, found.via) == ("user-42", {"auditor", "admin"}, "jwt")
    es = verifier.verify(keys.token(keys.EC_KEY, "ES256", "ec-1", roles="expert"))
    assert es.roles == {"expert"}


def test_roles_from_a_nested_claim(tmp_path: Path) -> None:
    nested = OidcVerifier(
        keys.ISSUER,
        keys.AUDIENCE,
        FileKeys.read(keys.write_jwks(tmp_path)),
        roles_claim="realm_access.roles",
    )
    found = nested.verify(keys.token(roles=None, realm_access={"roles": ["admin"]}))
    assert found.roles == {"admin"}
    assert claim_at({"a": {"b": 1}}, "a.c") is None
    assert roles_from(7) == frozenset() and roles_from(["admin", 3]) == {"admin"}


def unsigned(payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'rsa-1'})}.{part(payload)}."


def hmac_with_public_key() -> str:
    public = keys.RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "rsa-1"}
    body = json.dumps(keys.claims()).encode()

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing = f"{b64(json.dumps(header).encode())}.{b64(body)}"
    signature = hmac.new(public, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(signature)}"


BAD = {
    "alg none": lambda: unsigned(keys.claims()),
    "hmac forged with the public key": hmac_with_public_key,
    "wrong audience": lambda: keys.token(aud="another-service"),
    "wrong issuer": lambda: keys.token(iss="https://evil.example.test"),
    "expired": lambda: keys.token(exp=int(time.time()) - 60),
    "not yet valid": lambda: keys.token(nbf=int(time.time()) + 600),
    "no expiry": lambda: keys.token(exp=None),
    "no subject": lambda: keys.token(sub=None),
    "unknown kid": lambda: keys.token(kid="rsa-9"),
    "signed by another key": lambda: keys.token(keys.OTHER_RSA_KEY),
    "EC token naming the RSA key": lambda: keys.token(keys.EC_KEY, "ES256", "rsa-1"),
    "no kid with several keys": lambda: keys.token(kid=None),
    "not a JWT": lambda: "a.b.c",
    "tampered payload": lambda: tamper(keys.token()),
}


def tamper(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_tokens_get_one_message_that_says_nothing_of_what_was_right(
    verifier: OidcVerifier, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = BAD[case]()
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(bad)
    assert refused.value.message == NOT_VALID
    assert bad not in caplog.text  # the reason is logged, never the token


def test_pyjwt_refuses_none_even_when_asked_directly() -> None:
    # The guard rail under ours: `none` is never in the accepted algorithms.
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(unsigned(keys.claims()), "", algorithms=["RS256"])
