-- Ingest's clients: one row per client (a service posting items), with the sha256 of its
-- current key (the key itself is shown once and never stored), the datasets it may write
-- ('*' alone: every dataset), and its limits. Revoked clients stay, so that the items they
-- sent keep naming them.
CREATE TABLE clients (
    client_id       text        PRIMARY KEY,
    key_sha256      text        NOT NULL UNIQUE,
    datasets        text[]      NOT NULL,
    rate_per_s      real        NOT NULL CHECK (rate_per_s > 0),
    burst           integer     NOT NULL CHECK (burst >= 1),
    max_body_bytes  integer     NOT NULL CHECK (max_body_bytes >= 1024),
    created_at      timestamptz NOT NULL DEFAULT now(),
    rotated_at      timestamptz,
    revoked_at      timestamptz
);

-- Which client first sent each item (NULL: from the raw topic, or ingest without keys).
ALTER TABLE items ADD COLUMN client_id text;
