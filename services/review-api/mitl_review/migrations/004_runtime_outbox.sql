-- The outbox as every service has it: the `mitl:outbox-table` directive line below is
-- expanded by mitl_runtime.db.migrate into mitl_runtime.outbox.DDL (rows ordered by seq,
-- the publication key kept with the event, payload as json).
-- The existing rows (published or not) are carried over in the order they were written;
-- pending ones are published by the next flush as before.
CREATE TEMP TABLE review_outbox_v1 ON COMMIT DROP AS SELECT * FROM outbox;
DROP TABLE outbox;

-- mitl:outbox-table

INSERT INTO outbox (event_id, topic, key, payload, created_at, published_at)
SELECT event_id, topic,
       coalesce(payload::json ->> 'item_id', payload::json ->> 'dataset'),
       payload::json, created_at, published_at
FROM pg_temp.review_outbox_v1
ORDER BY created_at, event_id;
