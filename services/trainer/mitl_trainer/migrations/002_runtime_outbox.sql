-- The outbox as every service has it (mitl_runtime.outbox.DDL, verbatim between the markers
-- below): rows ordered by seq, the publication key kept with the event, payload as json.
-- Converts the trainer's own outbox (ModelPromoted events on mitl.models.v1, ordered by seq):
-- every row is carried over in order; a row published before is marked published.
CREATE TEMP TABLE trainer_outbox_v1 ON COMMIT DROP AS SELECT * FROM outbox;
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
SELECT event_id, 'mitl.models.v1', body ->> 'dataset', body::json, created_at,
       CASE WHEN published THEN now() END
FROM pg_temp.trainer_outbox_v1
ORDER BY seq;
