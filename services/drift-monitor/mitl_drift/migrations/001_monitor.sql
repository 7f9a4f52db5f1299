-- One row per (dataset, model_version): its windows, so that any replica resumes where another
-- stopped. The reference is kept as counts (it never changes once full); the recent window as
-- parallel arrays, oldest first. Rows are locked (FOR UPDATE) while a batch is counted.
CREATE TABLE monitors (
    dataset                     text               NOT NULL,
    model_version               text               NOT NULL,
    labels                      text[]             NOT NULL,
    reference_confidence        bigint[]           NOT NULL,
    reference_classes           bigint[]           NOT NULL,
    reference_confidence_sum    double precision   NOT NULL DEFAULT 0,
    reference_outlier_sum       double precision   NOT NULL DEFAULT 0,
    recent_confidence           double precision[] NOT NULL DEFAULT '{}',
    recent_class                integer[]          NOT NULL DEFAULT '{}',
    recent_outlier              double precision[] NOT NULL DEFAULT '{}',
    since_evaluation            integer            NOT NULL DEFAULT 0,
    agreement_reference_labels  integer            NOT NULL DEFAULT 0,
    agreement_reference_agreed  integer            NOT NULL DEFAULT 0,
    agreement_recent            boolean[]          NOT NULL DEFAULT '{}',
    agreement_since_evaluation  integer            NOT NULL DEFAULT 0,
    predictions_seen            bigint             NOT NULL DEFAULT 0,
    human_labels_seen           bigint             NOT NULL DEFAULT 0,
    created_at                  timestamptz        NOT NULL DEFAULT now(),
    updated_at                  timestamptz        NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, model_version)
);

-- The latest value and the alert state of each statistic of each monitor.
CREATE TABLE statistics (
    dataset        text             NOT NULL,
    model_version  text             NOT NULL,
    statistic      text             NOT NULL,
    segment        text             NOT NULL DEFAULT 'all',
    value          double precision,
    threshold      double precision NOT NULL,
    active         boolean          NOT NULL DEFAULT false,
    severity       text             NOT NULL DEFAULT 'info',
    calm           integer          NOT NULL DEFAULT 0,
    transitions    integer          NOT NULL DEFAULT 0,
    evaluations    integer          NOT NULL DEFAULT 0,
    evaluated_at   timestamptz,
    changed_at     timestamptz,
    PRIMARY KEY (dataset, model_version, statistic, segment),
    FOREIGN KEY (dataset, model_version) REFERENCES monitors (dataset, model_version)
);

-- Event ids already counted, so a redelivered or replayed event is counted once. Pruned after
-- the retention period (MITL_SEEN_RETENTION_HOURS).
CREATE TABLE seen_events (
    stream    text        NOT NULL,
    event_id  text        NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, event_id)
);
CREATE INDEX seen_events_seen_at ON seen_events (seen_at);

-- Outbox of DriftAlert events: written in the transaction that changed the state, published
-- after it commits; an alert left unpublished by a crash goes out with the next batch.
CREATE TABLE alerts (
    seq            bigserial   NOT NULL,
    event_id       text        PRIMARY KEY,
    dataset        text        NOT NULL,
    model_version  text        NOT NULL,
    statistic      text        NOT NULL,
    state          text        NOT NULL,
    severity       text        NOT NULL,
    body           jsonb       NOT NULL,
    published      boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_unpublished ON alerts (seq) WHERE NOT published;
CREATE INDEX alerts_dataset ON alerts (dataset, created_at);
