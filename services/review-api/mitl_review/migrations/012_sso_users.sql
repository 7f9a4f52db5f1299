-- People who sign in through single sign-on (an OIDC JWT) are users too: created on first use,
-- keyed by their identity provider's (issuer, subject), with a stable user_id derived from
-- both. They hold no token of ours (token_sha256 NULL): their JWT is checked on each request,
-- and their role follows the JWT's role claim. Assignments and disabling apply as to anyone.
ALTER TABLE users
    ALTER COLUMN token_sha256 DROP NOT NULL,
    ADD COLUMN sso_issuer  text,
    ADD COLUMN sso_subject text,
    ADD CONSTRAINT users_sso_identity UNIQUE (sso_issuer, sso_subject),
    ADD CONSTRAINT users_one_credential CHECK (
        (token_sha256 IS NULL) = (sso_issuer IS NOT NULL)
        AND (sso_issuer IS NULL) = (sso_subject IS NULL)
    );
