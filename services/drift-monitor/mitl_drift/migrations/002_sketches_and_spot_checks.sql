-- Embedding sketches: the width fixed by the first sketch, per-dimension sums over the
-- reference, and the recent window's sketches flattened row after row (NaN for a prediction
-- that came without one; real sketches are finite).
ALTER TABLE monitors
    ADD COLUMN sketch_dim               integer,
    ADD COLUMN reference_sketch_count   bigint             NOT NULL DEFAULT 0,
    ADD COLUMN reference_sketch_sum     double precision[] NOT NULL DEFAULT '{}',
    ADD COLUMN reference_sketch_sumsq   double precision[] NOT NULL DEFAULT '{}',
    ADD COLUMN recent_sketch            double precision[] NOT NULL DEFAULT '{}',
-- Spot checks: blind human labels, whose agreement with the model estimates its precision.
    ADD COLUMN spot_reference_labels    integer            NOT NULL DEFAULT 0,
    ADD COLUMN spot_reference_agreed    integer            NOT NULL DEFAULT 0,
    ADD COLUMN spot_recent              boolean[]          NOT NULL DEFAULT '{}',
    ADD COLUMN spot_since_evaluation    integer            NOT NULL DEFAULT 0,
    ADD COLUMN spot_checks_seen         bigint             NOT NULL DEFAULT 0;
