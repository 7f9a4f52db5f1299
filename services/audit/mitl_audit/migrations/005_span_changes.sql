-- What a person changed in a span (NER) item's suggested spans (Label.span_changes: spans
-- added, removed and relabelled), as JSON text exactly as chained; null for other rows. The
-- span sets themselves are in `payload` (spans, suggested_spans). Rows chained before this
-- column hash without it (core/entries.py, LATER_FIELDS).
ALTER TABLE log ADD COLUMN span_changes text;
