-- The outbox as every service has it: the `mitl:outbox-table` directive line below is
-- expanded by mitl_runtime.db.migrate into mitl_runtime.outbox.DDL (rows ordered by seq,
-- the publication key kept with the event, payload as json).
-- ModelPromoted events of registry changes go through the outbox; `promotions` stays the
-- history of changes (and the record of event ids applied), without its `published` flag.
-- The changes not yet announced become pending events, in order, as the previous publisher
-- built them (from the change and its model).
-- mitl:outbox-table

INSERT INTO outbox (event_id, topic, key, payload, created_at)
SELECT p.event_id, 'mitl.models.v1', p.dataset,
       json_build_object(
           'event_id', p.event_id, 'dataset', p.dataset, 'occurred_at', p.occurred_at,
           'model_version', p.version, 'status', p.status,
           'artifact_sha256', m.artifact_sha256, 'bundle_uri', m.bundle_uri),
       p.occurred_at
FROM promotions p
JOIN models m ON m.dataset = p.dataset AND m.version = p.version
WHERE NOT p.published
ORDER BY p.seq;
DROP INDEX promotions_unpublished;
ALTER TABLE promotions DROP COLUMN published;
