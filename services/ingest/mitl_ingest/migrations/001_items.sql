-- One row per (dataset, external_id) ever accepted. `published` turns true once the
-- ingested event is durable in Kafka: a row left unpublished by a crash is published again.
CREATE TABLE items (
    dataset      text        NOT NULL,
    external_id  text        NOT NULL,
    item_id      text        NOT NULL,
    batch_id     text        NOT NULL,
    published    boolean     NOT NULL DEFAULT false,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, external_id)
);
CREATE INDEX items_batch ON items (batch_id);
