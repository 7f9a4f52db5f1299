-- The ingest client that sent each item (its key's id, `mitl clients`); NULL for items from
-- the raw topic or from ingest without client keys, and for items recorded before this column.
ALTER TABLE items ADD COLUMN client_id text;
CREATE INDEX items_client ON items (client_id) WHERE client_id IS NOT NULL;

-- Accesses are audited too (kind 'access'): each dataset export, with who asked.
ALTER TABLE log DROP CONSTRAINT log_kind_check;
ALTER TABLE log ADD CONSTRAINT log_kind_check
    CHECK (kind IN ('decision', 'label', 'model', 'drift', 'policy', 'access'));
