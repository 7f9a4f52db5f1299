-- The audit log: one row per audited event, append-only, hash-chained (see core/chain.py).
-- seq is assigned by the writer under an advisory lock rather than by the sequence default,
-- because a sequence skips values on rollback and a gap must mean a removed row.
CREATE TABLE log (
    seq              bigserial   PRIMARY KEY,
    event_id         text        NOT NULL UNIQUE,
    kind             text        NOT NULL CHECK (kind IN ('decision', 'label', 'model', 'drift')),
    dataset          text        NOT NULL,
    item_id          text,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL,
    payload          jsonb       NOT NULL,
    label            text,
    source           text,
    action           text,
    annotator        text,
    role             text,
    suggested_label  text,
    model_version    text,
    policy_version   text,
    is_override      boolean,
    route            text,
    predicted_label  text,
    confidence       double precision,
    prev_hash        text        NOT NULL,
    row_hash         text        NOT NULL UNIQUE
);
CREATE INDEX log_dataset_kind_time ON log (dataset, kind, occurred_at);
CREATE INDEX log_overrides ON log (dataset, seq) WHERE is_override;

-- Even the owner cannot change history without first disabling this trigger, which takes a
-- deliberate ALTER TABLE; anything done that way is still caught by `mitl audit verify`.
CREATE FUNCTION log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER log_no_update_or_delete BEFORE UPDATE OR DELETE ON log
    FOR EACH ROW EXECUTE FUNCTION log_is_append_only();
CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON log
    FOR EACH STATEMENT EXECUTE FUNCTION log_is_append_only();

-- The role the service appends as. Roles are cluster-wide: another database on the same
-- server may have created it already, possibly at this very moment.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mitl_audit_writer') THEN
        CREATE ROLE mitl_audit_writer NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO mitl_audit_writer', current_schema());
    -- A service that does not log in as a superuser must be a member to SET ROLE to it.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'mitl_audit_writer', 'MEMBER') THEN
        EXECUTE format('GRANT mitl_audit_writer TO %I', current_user);
    END IF;
END
$$;
REVOKE ALL ON log FROM PUBLIC;
GRANT SELECT, INSERT ON log TO mitl_audit_writer;
REVOKE UPDATE, DELETE, TRUNCATE ON log FROM mitl_audit_writer;
GRANT USAGE ON SEQUENCE log_seq_seq TO mitl_audit_writer;
