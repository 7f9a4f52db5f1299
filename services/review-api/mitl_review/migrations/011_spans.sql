-- Span tasks (a dataset with `task: spans`): the person labels the set of entity spans in the
-- item's text. `suggested_label` and `label` are then span set keys ("start:end:label|...";
-- '' for no entity). `suggested_spans` holds the model's spans with their confidences and
-- `spans_complete` its confidence that none is missing; `spans` the person's final span set
-- (written with the completion); `allow_overlap` the dataset's rule when the task was asked.
ALTER TABLE tasks ADD COLUMN span_task boolean NOT NULL DEFAULT false;
ALTER TABLE tasks ADD COLUMN allow_overlap boolean NOT NULL DEFAULT false;
ALTER TABLE tasks ADD COLUMN suggested_spans jsonb;
ALTER TABLE tasks ADD COLUMN spans_complete double precision;
ALTER TABLE tasks ADD COLUMN spans jsonb;
