-- The outbox as every service has it: the `mitl:outbox-table` directive line below is
-- expanded by mitl_runtime.db.migrate into mitl_runtime.outbox.DDL (rows ordered by seq,
-- the publication key kept with the event, payload as json).
-- Replaces the alert outbox `alerts` (DriftAlert events on mitl.drift.v1, ordered by seq):
-- every row is carried over in order (its event id keeps a re-raised alert from going out
-- twice); a row published before is marked published. Nothing else read `alerts`.
-- mitl:outbox-table

INSERT INTO outbox (event_id, topic, key, payload, created_at, published_at)
SELECT event_id, 'mitl.drift.v1', dataset, body::json, created_at,
       CASE WHEN published THEN now() END
FROM alerts
ORDER BY seq;
DROP TABLE alerts;
