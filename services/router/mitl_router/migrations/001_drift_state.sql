-- Open drift alerts per dataset, so that every router replica tightens the same policy.
CREATE TABLE drift_alerts (
    dataset        text        NOT NULL,
    statistic      text        NOT NULL,
    segment        text        NOT NULL,
    active         boolean     NOT NULL,
    last_event_id  text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    PRIMARY KEY (dataset, statistic, segment)
);
