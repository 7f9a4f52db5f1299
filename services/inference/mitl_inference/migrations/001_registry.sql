-- The model registry: one row per (dataset, version). The bundle lives in the artifact store
-- under artifact_sha256, the sha256 of its manifest.json, which pins every other file by its
-- own digest. At most one champion per dataset.
CREATE TABLE models (
    dataset          text        NOT NULL,
    version          text        NOT NULL,
    kind             text        NOT NULL,
    input_kind       text        NOT NULL,
    labels           text[]      NOT NULL,
    artifact_sha256  text        NOT NULL,
    bundle_uri       text        NOT NULL,
    manifest         jsonb       NOT NULL,
    status           text        NOT NULL DEFAULT 'candidate'
                                 CHECK (status IN ('candidate', 'champion', 'retired')),
    registered_at    timestamptz NOT NULL DEFAULT now(),
    promoted_at      timestamptz,
    retired_at       timestamptz,
    PRIMARY KEY (dataset, version)
);
CREATE UNIQUE INDEX models_one_champion ON models (dataset) WHERE status = 'champion';

-- Every status change, in order, as the ModelPromoted event it becomes. `published` turns true
-- once the event is on mitl.models.v1 (an outbox: a crash between commit and publish is
-- repaired by publishing the unpublished rows again).
CREATE TABLE promotions (
    seq          bigserial   PRIMARY KEY,
    event_id     text        NOT NULL UNIQUE,
    dataset      text        NOT NULL,
    version      text        NOT NULL,
    status       text        NOT NULL,
    previous     text,
    published    boolean     NOT NULL DEFAULT false,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promotions_unpublished ON promotions (seq) WHERE NOT published;

-- Exactly-once scoring: the model version that scores an item is fixed when the item is first
-- claimed; a redelivery re-scores with that version until the prediction is published, and
-- is skipped after.
CREATE TABLE scored (
    dataset        text        NOT NULL,
    item_id        text        NOT NULL,
    model_version  text        NOT NULL,
    published      boolean     NOT NULL DEFAULT false,
    claimed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, item_id)
);
CREATE INDEX scored_unpublished ON scored (dataset, model_version) WHERE NOT published;

-- The rescore window: recently predicted items with their content and latest platform
-- prediction, and whether any label arrived for them. Pruned to the newest N per dataset.
CREATE TABLE recent (
    seq                  bigserial PRIMARY KEY,
    dataset              text      NOT NULL,
    item_id              text      NOT NULL,
    batch_id             text      NOT NULL DEFAULT '',
    content              text,
    model_version        text,
    prediction_event_id  text,
    labeled              boolean   NOT NULL DEFAULT false,
    UNIQUE (dataset, item_id)
);
CREATE INDEX recent_newest ON recent (dataset, seq DESC);
