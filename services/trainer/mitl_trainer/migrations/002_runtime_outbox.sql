-- The outbox as every service has it: the `mitl:outbox-table` directive line below is
-- expanded by mitl_runtime.db.migrate into mitl_runtime.outbox.DDL (rows ordered by seq,
-- the publication key kept with the event, payload as json).
-- Converts the trainer's own outbox (ModelPromoted events on mitl.models.v1, ordered by seq):
-- every row is carried over in order; a row published before is marked published.
CREATE TEMP TABLE trainer_outbox_v1 ON COMMIT DROP AS SELECT * FROM outbox;
DROP TABLE outbox;

-- mitl:outbox-table

INSERT INTO outbox (event_id, topic, key, payload, created_at, published_at)
SELECT event_id, 'mitl.models.v1', body ->> 'dataset', body::json, created_at,
       CASE WHEN published THEN now() END
FROM pg_temp.trainer_outbox_v1
ORDER BY seq;
