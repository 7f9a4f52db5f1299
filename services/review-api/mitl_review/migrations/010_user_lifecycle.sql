-- User lifecycle. A user's stable id (`user_id`, what tasks, labels and quality history record)
-- is separate from the name shown to people (`display_name`): existing users keep their name as
-- their id (so their history still matches) and as their display name. A token can be rotated
-- (a new sha256 replaces the old one), can expire (`token_expires_at`, NULL: never), and a user
-- can be disabled (`disabled_at`; their past work stays). Users are never deleted, so an id is
-- never reused.
ALTER TABLE users RENAME COLUMN name TO user_id;
ALTER TABLE users
    ADD COLUMN display_name     text,
    ADD COLUMN disabled_at      timestamptz,
    ADD COLUMN token_expires_at timestamptz,
    ADD COLUMN token_rotated_at timestamptz,
    -- Whether the user was ever assigned a dataset: until then they work on every dataset (as
    -- before this migration); from then on only on those in user_datasets (none: no dataset).
    ADD COLUMN scoped           boolean NOT NULL DEFAULT false;
UPDATE users SET display_name = user_id;
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;

-- Which datasets an annotator or expert may see and claim (admins see all).
CREATE TABLE user_datasets (
    user_id     text        NOT NULL REFERENCES users (user_id) ON UPDATE CASCADE,
    dataset     text        NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, dataset)
);
