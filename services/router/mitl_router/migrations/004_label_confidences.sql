-- Multi-label datasets: the confidence of each label's in/out decision (max(p, 1 - p)) on
-- the decision a human label verifies, so per-label verdicts are recomputable from the rows.
-- NULL: a single-label outcome.
ALTER TABLE outcomes ADD COLUMN label_confidences jsonb;
