"""The settings of a service with guarded HTTP routes: OIDC (`OidcSettings`), and static
tokens beside it (`AccessSettings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Self

from pydantic import Field, SecretStr, model_validator

from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.auth.oidc import FileKeys, Keys, OidcVerifier, UrlKeys
from mitl_runtime.auth.static import StaticTokens
from mitl_runtime.settings import ServiceSettings


class OidcSettings(ServiceSettings):
    """Single sign-on for people: OIDC-issued JWTs."""

    # OIDC JWTs for people (single sign-on): oidc_issuer and oidc_audience, the `iss` and
    # `aud` a token must carry, and the issuer's keys as a JWKS file (oidc_jwks_file) or URL
    # (oidc_jwks_url, fetched and cached). All of issuer, audience and one JWKS source, or
    # none (OIDC off).
    oidc_issuer: Optional[str] = None  # noqa: UP045
    oidc_audience: Optional[str] = None  # noqa: UP045
    oidc_jwks_file: Optional[Path] = None  # noqa: UP045
    oidc_jwks_url: Optional[str] = None  # noqa: UP045
    # The claim holding a person's roles (a dotted path, e.g. realm_access.roles), a list or
    # a space-separated string; annotator, expert, auditor and admin are recognised.
    oidc_roles_claim: str = "roles"
    # The claim holding the name shown for a person (a dotted path); when it is absent,
    # preferred_username, then the subject.
    oidc_name_claim: str = "name"
    # Clock skew allowed on a JWT's exp and nbf, in seconds.
    oidc_leeway_s: float = Field(default=30.0, ge=0, le=600)

    @model_validator(mode="after")
    def oidc_is_whole(self) -> Self:
        parts = {
            "oidc_issuer": self.oidc_issuer,
            "oidc_audience": self.oidc_audience,
            "oidc_jwks_file or oidc_jwks_url": self.oidc_jwks_file or self.oidc_jwks_url,
        }
        given = [name for name, value in parts.items() if value]
        if given and len(given) != len(parts):
            missing = [name for name, value in parts.items() if not value]
            raise ValueError(f"OIDC needs {', '.join(missing)} too (given: {', '.join(given)})")
        if self.oidc_jwks_file and self.oidc_jwks_url:
            raise ValueError("set one of oidc_jwks_file and oidc_jwks_url, not both")
        if self.oidc_jwks_url and not self.oidc_jwks_url.lower().startswith(
            ("https://", "http://")
        ):
            raise ValueError("oidc_jwks_url must be an http:// or https:// URL")
        return self

    def oidc_verifier(self) -> OidcVerifier | None:
        """The verifier of the configured issuer's JWTs; None when OIDC is off."""
        if not (self.oidc_issuer and self.oidc_audience):
            return None
        keys: Keys = (
            FileKeys.read(self.oidc_jwks_file)
            if self.oidc_jwks_file
            else UrlKeys(str(self.oidc_jwks_url))
        )
        return OidcVerifier(
            self.oidc_issuer,
            self.oidc_audience,
            keys,
            roles_claim=self.oidc_roles_claim,
            leeway_s=self.oidc_leeway_s,
            name_claim=self.oidc_name_claim,
        )


class AccessSettings(OidcSettings):
    # The operator's bearer token (role admin): retraining, policy and model changes, and
    # everything an auditor may do. Unset, and without OIDC, those routes answer 403. From the
    # Secret mitl-access (key admin-token); only its sha256 is kept in memory.
    admin_token: Optional[SecretStr] = None  # noqa: UP045
    # A bearer token with the role auditor: audit's reports, overrides and export. From the
    # Secret mitl-access (key auditor-token).
    auditor_token: Optional[SecretStr] = None  # noqa: UP045

    def authenticator(self) -> Authenticator:
        static = StaticTokens.of(
            {
                "admin": self.admin_token.get_secret_value() if self.admin_token else None,
                "auditor": self.auditor_token.get_secret_value() if self.auditor_token else None,
            }
        )
        return Authenticator(static, self.oidc_verifier())
