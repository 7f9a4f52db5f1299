-- What the trainer knows, from events: item texts, labels, the current champion per dataset.
CREATE TABLE items (
    dataset      text        NOT NULL,
    item_id      text        NOT NULL,
    event_id     text        NOT NULL,
    text         text        NOT NULL,
    batch_id     text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    PRIMARY KEY (dataset, item_id)
);

-- Every label event once; `seq` orders labels that carry the same time.
CREATE TABLE labels (
    event_id       text        PRIMARY KEY,
    seq            bigserial   NOT NULL,
    dataset        text        NOT NULL,
    item_id        text        NOT NULL,
    label          text        NOT NULL,
    source         text        NOT NULL,
    annotator      text,
    model_version  text        NOT NULL,
    occurred_at    timestamptz NOT NULL
);
CREATE INDEX labels_dataset_item ON labels (dataset, item_id);

CREATE TABLE champions (
    dataset          text        PRIMARY KEY,
    model_version    text        NOT NULL,
    bundle_uri       text        NOT NULL,
    artifact_sha256  text        NOT NULL,
    event_id         text        NOT NULL,
    occurred_at      timestamptz NOT NULL
);

-- Retraining requests, keyed by what made them (a drift alert's event id, a count of verified
-- items, a manual request at a count), so a replayed trigger makes none twice.
CREATE TABLE requests (
    request_id     text        PRIMARY KEY,
    dataset        text        NOT NULL,
    trigger        text        NOT NULL CHECK (trigger IN ('drift', 'labels', 'manual')),
    trigger_ref    text        NOT NULL,
    status         text        NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'running', 'done')),
    outcome        text        CHECK (outcome IN
                               ('skipped', 'unchanged', 'candidate', 'champion', 'failed')),
    reason         text,
    model_version  text,
    attempts       integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX requests_open ON requests (created_at) WHERE status <> 'done';
CREATE INDEX requests_dataset ON requests (dataset, created_at);

-- The models this trainer produced.
CREATE TABLE models (
    dataset          text        NOT NULL,
    model_version    text        NOT NULL,
    request_id       text        NOT NULL,
    artifact_sha256  text        NOT NULL,
    bundle_uri       text        NOT NULL,
    promoted         boolean     NOT NULL,
    metrics          jsonb       NOT NULL,
    training         jsonb       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, model_version)
);

-- ModelPromoted events, written with the model in one transaction and published after it
-- commits: a crash in between delays an event, never loses it.
CREATE TABLE outbox (
    seq         bigserial   NOT NULL,
    event_id    text        PRIMARY KEY,
    body        jsonb       NOT NULL,
    published   boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE NOT published;
