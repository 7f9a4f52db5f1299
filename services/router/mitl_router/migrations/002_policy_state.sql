-- Every routing decision, so that a human label can be joined to what the model predicted,
-- with which confidence and model version, and an item in dispute re-sent with its content.
CREATE TABLE decisions (
    dataset            text             NOT NULL,
    item_id            text             NOT NULL,
    model_version      text             NOT NULL,
    decision_event_id  text             NOT NULL,
    predicted_label    text             NOT NULL,
    confidence         double precision NOT NULL,
    route              text             NOT NULL,
    spot_check         boolean          NOT NULL,
    policy_version     text             NOT NULL,
    prediction         jsonb            NOT NULL,
    decided_at         timestamptz      NOT NULL,
    PRIMARY KEY (dataset, item_id, model_version)
);
CREATE INDEX decisions_by_item ON decisions (dataset, item_id, decided_at DESC);

-- Human labels joined to the decision they verify: the evidence thresholds are learned from.
CREATE TABLE outcomes (
    event_id         text             PRIMARY KEY,
    dataset          text             NOT NULL,
    item_id          text             NOT NULL,
    model_version    text             NOT NULL,
    predicted_label  text             NOT NULL,
    confidence       double precision NOT NULL,
    label            text             NOT NULL,
    source           text             NOT NULL,
    spot_check       boolean          NOT NULL,
    occurred_at      timestamptz      NOT NULL
);
CREATE INDEX outcomes_recent ON outcomes (dataset, occurred_at DESC);
CREATE INDEX outcomes_by_item ON outcomes (dataset, item_id);

-- Learned per-class thresholds per dataset and model version, so every replica routes alike.
CREATE TABLE thresholds (
    dataset         text        NOT NULL,
    model_version   text        NOT NULL,
    policy_version  text        NOT NULL,
    outcomes        integer     NOT NULL,
    state           jsonb       NOT NULL,
    computed_at     timestamptz NOT NULL,
    PRIMARY KEY (dataset, model_version)
);

-- MinHash signatures of recently queued texts per dataset: the near-duplicate window.
CREATE TABLE queued_signatures (
    dataset    text        NOT NULL,
    seq        bigserial   NOT NULL,
    item_id    text        NOT NULL,
    signature  bigint[]    NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, seq)
);
