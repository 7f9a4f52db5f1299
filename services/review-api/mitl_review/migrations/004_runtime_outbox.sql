-- The outbox as every service has it (mitl_runtime.outbox.DDL, verbatim between the markers
-- below): rows ordered by seq, the publication key kept with the event, payload as json.
-- The existing rows (published or not) are carried over in the order they were written;
-- pending ones are published by the next flush as before.
CREATE TEMP TABLE review_outbox_v1 ON COMMIT DROP AS SELECT * FROM outbox;
DROP TABLE outbox;

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
SELECT event_id, topic,
       coalesce(payload::json ->> 'item_id', payload::json ->> 'dataset'),
       payload::json, created_at, published_at
FROM pg_temp.review_outbox_v1
ORDER BY created_at, event_id;
