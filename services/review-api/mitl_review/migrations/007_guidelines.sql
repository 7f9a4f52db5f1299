-- Annotation guidelines, versioned per dataset (core/guidelines.py). A version is never
-- changed: an edit, from the datasets file at start-up or by an admin's PUT, adds the next
-- version. `content_sha256` identifies the content (Markdown and label definitions), so the
-- same content read again at start-up adds nothing. `labels` is {label: {description,
-- examples}}.
CREATE TABLE guidelines (
    dataset        text        NOT NULL,
    version        integer     NOT NULL CHECK (version >= 1),
    markdown       text        NOT NULL,
    labels         jsonb       NOT NULL,
    content_sha256 text        NOT NULL,
    source         text        NOT NULL CHECK (source IN ('config', 'api')),
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, version)
);

-- The guideline version in force when a task was completed (null: the dataset had none, or
-- the task was completed before guidelines were versioned). Its label event carries it.
ALTER TABLE tasks ADD COLUMN guideline_version integer;
