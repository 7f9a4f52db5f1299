"""OIDC JWTs with keys the test generates: a good token gives the subject and its roles; every
bad one (alg none, an HMAC forged with the public key, wrong audience or issuer, expired, not
yet valid, unknown key, another key's signature, garbage) is refused with the same message."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from mitl_runtime.auth.errors import NOT_VALID, Unauthenticated, Unavailable
from mitl_runtime.auth.oidc import FileKeys, OidcVerifier, UrlKeys, claim_at, roles_from

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


def test_keys_fetched_from_a_url_and_an_unreachable_issuer(tmp_path: Path) -> None:
    """The JWKS from the issuer's URL (a local HTTP server here), cached; an issuer whose
    keys cannot be fetched is a 503 to retry, not a refusal of the token."""
    keys.write_jwks(tmp_path)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        verifier = OidcVerifier(keys.ISSUER, keys.AUDIENCE, UrlKeys(url))
        assert verifier.verify(keys.token(roles=["admin"])).roles == {"admin"}
        with pytest.raises(Unauthenticated):
            verifier.verify(keys.token(kid="rsa-9"))
    finally:
        server.shutdown()
        server.server_close()
    gone = OidcVerifier(keys.ISSUER, keys.AUDIENCE, UrlKeys(url))
    with pytest.raises(Unavailable):
        gone.verify(keys.token())
