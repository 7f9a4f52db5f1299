-- A request whose labeled items have not all brought their content yet (their labels were
-- consumed before their ItemIngested events) waits for it instead of being skipped: the
-- worker puts it back as pending, to be taken again no earlier than `not_before`, until
-- `content_wait_s` after it was made (mitl_trainer.core.schedule.waits_for_content).
ALTER TABLE requests ADD COLUMN not_before timestamptz;
