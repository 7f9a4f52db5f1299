-- Review tasks, their leases and outcomes. One row per ReviewRequested event (review_event_id is
-- the idempotency key). `queue` is where the task waits now (an escalation moves it to
-- 'expert'); a lease is (lease_holder, lease_expires_at) and counts only while unexpired, so an
-- expired lease returns the task to its queue without any sweeper.
CREATE TABLE tasks (
    task_id            text             PRIMARY KEY,
    review_event_id    text             NOT NULL UNIQUE,
    dataset            text             NOT NULL,
    item_id            text             NOT NULL,
    batch_id           text             NOT NULL DEFAULT '',
    decision_event_id  text             NOT NULL,
    requested_queue    text             NOT NULL CHECK (requested_queue IN ('annotator', 'expert')),
    queue              text             NOT NULL CHECK (queue IN ('annotator', 'expert')),
    priority           double precision NOT NULL,
    reason             text             NOT NULL,
    content            jsonb            NOT NULL,
    labels             text[]           NOT NULL,
    probabilities      double precision[] NOT NULL,
    suggested_label    text             NOT NULL,
    confidence         double precision NOT NULL,
    hide_suggestion    boolean          NOT NULL,
    model_version      text             NOT NULL,
    policy_version     text             NOT NULL,
    requested_at       timestamptz      NOT NULL,
    created_at         timestamptz      NOT NULL DEFAULT now(),
    status             text             NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    lease_holder       text,
    lease_expires_at   timestamptz,
    -- People who skipped the task do not get it again; everyone else still can.
    skipped_by         text[]           NOT NULL DEFAULT '{}',
    escalated_by       text,
    escalation_comment text,
    escalated_at       timestamptz,
    completed_by       text,
    completed_role     text,
    submitted_action   text,
    label              text,
    label_event_id     text,
    time_spent_ms      integer,
    completed_at       timestamptz
);
-- The claim order: per (dataset, queue), highest priority first, then oldest.
CREATE INDEX tasks_open_queue ON tasks (dataset, queue, priority DESC, requested_at, task_id)
    WHERE status = 'open';
CREATE INDEX tasks_open_leases ON tasks (lease_holder, dataset, queue)
    WHERE status = 'open' AND lease_holder IS NOT NULL;
CREATE INDEX tasks_completed_by ON tasks (completed_by, completed_at) WHERE status = 'done';
CREATE INDEX tasks_escalated_by ON tasks (escalated_by, escalated_at) WHERE escalated_by IS NOT NULL;

-- Only the sha256 of a token is kept: a leaked table does not leak credentials.
CREATE TABLE users (
    name         text        PRIMARY KEY,
    role         text        NOT NULL CHECK (role IN ('annotator', 'expert', 'admin')),
    token_sha256 text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: an event is written here in the same transaction as the effect it
-- reports, published afterwards and then marked; a row still unpublished after a crash is
-- published again (consumers dedupe by event_id).
CREATE TABLE outbox (
    event_id     text        PRIMARY KEY,
    topic        text        NOT NULL,
    payload      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE published_at IS NULL;
