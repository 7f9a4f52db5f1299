-- Re-scored items and gold items.
--
-- A ReviewRequested for an item that already has an open task in the same dataset and requested
-- queue updates that task instead of adding a second one; `revision` counts those updates so a
-- person who saw an older suggestion cannot submit against the newer one unknowingly, and
-- `last_requested_at` keeps an older request that arrives late from undoing a newer one.
-- Every request event is recorded in `requests`, so a redelivered event changes nothing
-- whether it created a task or updated one.
CREATE TABLE requests (
    event_id    text        PRIMARY KEY,
    task_id     text        NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('created', 'updated', 'stale')),
    received_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO requests (event_id, task_id, outcome)
    SELECT review_event_id, task_id, 'created' FROM tasks;

-- Gold items: items with known answers, mixed into people's work to measure their accuracy
-- without the model's help. `gold_id` is derived from (dataset, external_id), so uploading the
-- same item again updates it instead of adding a copy.
CREATE TABLE gold (
    gold_id     text        PRIMARY KEY,
    dataset     text        NOT NULL,
    external_id text        NOT NULL,
    content     jsonb       NOT NULL,
    label       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset, external_id)
);

-- A gold task is one person's copy of a gold item (`assignee`); nobody else ever claims it and
-- it publishes no label. It has no review event.
ALTER TABLE tasks
    ADD COLUMN kind text NOT NULL DEFAULT 'review' CHECK (kind IN ('review', 'gold')),
    ADD COLUMN gold_id text REFERENCES gold (gold_id),
    ADD COLUMN assignee text,
    ADD COLUMN revision integer NOT NULL DEFAULT 1,
    ADD COLUMN last_requested_at timestamptz,
    ALTER COLUMN review_event_id DROP NOT NULL,
    ADD CONSTRAINT tasks_kind_fields CHECK (
        (kind = 'review' AND review_event_id IS NOT NULL AND gold_id IS NULL)
        OR (kind = 'gold' AND gold_id IS NOT NULL AND assignee IS NOT NULL));
UPDATE tasks SET last_requested_at = requested_at;
ALTER TABLE tasks ALTER COLUMN last_requested_at SET NOT NULL;

-- The open review task of an item in a queue, looked up by every request for the item.
CREATE INDEX tasks_open_item ON tasks (dataset, item_id, requested_queue)
    WHERE status = 'open' AND kind = 'review';
-- The gold items a person already has a task for, looked up by every gold draw.
CREATE INDEX tasks_gold_assignee ON tasks (assignee, gold_id) WHERE kind = 'gold';
-- Annotator statistics aggregate what was completed in a recent window.
CREATE INDEX tasks_completed_at ON tasks (completed_at) WHERE status = 'done';
