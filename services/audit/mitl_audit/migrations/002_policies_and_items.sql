-- Policy changes are audited too (kind 'policy', from mitl.policies.v1).
ALTER TABLE log DROP CONSTRAINT log_kind_check;
ALTER TABLE log ADD CONSTRAINT log_kind_check
    CHECK (kind IN ('decision', 'label', 'model', 'drift', 'policy'));

-- Reports join an item's human label to its decision, and the export an item's final label to
-- its decision: both look rows up by item.
CREATE INDEX log_item_rows ON log (dataset, item_id, kind, seq) WHERE item_id IS NOT NULL;

-- What each item was (text or vector, metadata, batch), from mitl.items.ingested.v1, so that an
-- export carries the content its labels are about. Not part of the hash chain: an item's
-- content is a copy of what ingest accepted, not a decision anyone made. Append-only all the
-- same, and written as the same role as the log.
CREATE TABLE items (
    dataset      text        NOT NULL,
    item_id      text        NOT NULL,
    event_id     text        NOT NULL UNIQUE,
    external_id  text        NOT NULL,
    batch_id     text        NOT NULL,
    content      jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, item_id)
);
CREATE INDEX items_batch ON items (dataset, batch_id);
CREATE TRIGGER items_no_update_or_delete BEFORE UPDATE OR DELETE ON items
    FOR EACH ROW EXECUTE FUNCTION log_is_append_only();
CREATE TRIGGER items_no_truncate BEFORE TRUNCATE ON items
    FOR EACH STATEMENT EXECUTE FUNCTION log_is_append_only();
REVOKE ALL ON items FROM PUBLIC;
GRANT SELECT, INSERT ON items TO mitl_audit_writer;
