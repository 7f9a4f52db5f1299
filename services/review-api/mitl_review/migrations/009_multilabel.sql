-- Multi-label tasks (a dataset with `task: multilabel`): the person labels a set of labels.
-- `probabilities` then holds each label's own probability, `suggested_label` and `label` the
-- label set's key (labels sorted, joined by '|'; '' for the empty set).
ALTER TABLE tasks ADD COLUMN multilabel boolean NOT NULL DEFAULT false;
