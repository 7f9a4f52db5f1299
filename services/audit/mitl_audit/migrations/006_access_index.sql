-- Access rows (kind 'access': exports, and credential and role changes from mitl.access.v1)
-- are listed newest first by GET /v1/access, across datasets.
CREATE INDEX log_access ON log (seq) WHERE kind = 'access';
