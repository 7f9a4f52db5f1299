-- The outbox as every service has it (mitl_runtime.outbox.DDL, verbatim between the markers
-- below): rows ordered by seq, the publication key kept with the event, payload as json.
-- Replaces the alert outbox `alerts` (DriftAlert events on mitl.drift.v1, ordered by seq):
-- every row is carried over in order (its event id keeps a re-raised alert from going out
-- twice); a row published before is marked published. Nothing else read `alerts`.
-- BEGIN mitl_runtime.outbox.DDL
CREATE TABLE outbox (
    seq           bigserial   NOT NULL,
    event_id      text        PRIMARY KEY,
    topic         text        NOT NULL,
    key           text        NOT NULL,
    payload       json        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
-- END mitl_runtime.outbox.DDL

INSERT INTO outbox (event_id, topic, key, payload, created_at, published_at)
SELECT event_id, 'mitl.drift.v1', dataset, body::json, created_at,
       CASE WHEN published THEN now() END
FROM alerts
ORDER BY seq;
DROP TABLE alerts;
