-- The annotation guideline version a human label was made under (Label.guideline_version,
-- from the review API); null for other rows and for labels made without guidelines. Rows
-- chained before this column hash without it (core/entries.py, LATER_FIELDS).
ALTER TABLE log ADD COLUMN guideline_version integer;
