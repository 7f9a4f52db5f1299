-- Overlap: an item of a dataset's overlap sample (policy overlap_rate, overlap_annotators) is
-- one task per annotator it needs, all carrying the first task's id as overlap_group and
-- numbered by overlap_copy (0 for the first). Each copy is leased, completed and published
-- like any task; no person gets two copies of one group. Other tasks: NULL and 0.
ALTER TABLE tasks
    ADD COLUMN overlap_group text,
    ADD COLUMN overlap_copy integer NOT NULL DEFAULT 0 CHECK (overlap_copy >= 0);
-- A claim looks up the other copies of a candidate's group.
CREATE INDEX tasks_overlap_group ON tasks (overlap_group) WHERE overlap_group IS NOT NULL;
-- The copies of a group answer the same request: a request is one task per copy, no more.
ALTER TABLE tasks DROP CONSTRAINT tasks_review_event_id_key;
CREATE UNIQUE INDEX tasks_review_event_copy ON tasks (review_event_id, overlap_copy);

-- Whether `p_user` may lease the open review task `t` at `lease_now`: its lease has lapsed (or
-- it has none), the person did not skip it, and, for a copy of an overlap group, the person
-- has not completed, escalated or skipped another copy of the group and holds no live lease
-- on one. The check costs a lookup only for overlap copies.
CREATE FUNCTION claimable(t review.tasks, p_user text, lease_now timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT t.kind = 'review'
       AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= lease_now)
       AND NOT (p_user = ANY (t.skipped_by))
       AND (t.overlap_group IS NULL OR NOT EXISTS (
           SELECT 1 FROM review.tasks AS o
           WHERE o.overlap_group = t.overlap_group AND o.task_id <> t.task_id
             AND (o.completed_by = p_user OR o.escalated_by = p_user
                  OR p_user = ANY (o.skipped_by)
                  OR (o.lease_holder = p_user AND o.lease_expires_at > lease_now))))
$$;

-- Claiming in one round trip. A claim is the hottest path of the service (every item a person
-- labels starts with one); as separate statements in a transaction it cost six round trips.
--
-- Leases are judged and set by the lease clock: the database's clock moved by
-- p_clock_offset, zero in service; a test advances it to let a lease lapse at once
-- (core/leases.py, LeaseClock).
--
-- claim_next(user, dataset, queue, lease_seconds, want_gold, clock_offset):
-- 1. takes the per-person claim lock (two concurrent claims by one person must not lease two
--    tasks; other people are not blocked), held until the caller's transaction ends;
-- 2. returns ('resumed', NULL, task) if the person holds a live lease in the queue (gold tasks
--    included), so reloading the page does not strand a leased task;
-- 3. with want_gold (the caller drew a gold task): returns ('gold', NULL, NULL) when the queue
--    has review work the person could lease, and nothing otherwise; the caller, inside its
--    transaction, then leases a gold task or calls again without want_gold;
-- 4. otherwise leases the first review task `claimable` by the person (above) in claim order
--    (priority, then age) among the open ones. Rows another transaction is
--    claiming are skipped, not waited for, so two claimers never get the same task. Returns
--    ('leased', holder of the lapsed lease it replaced or NULL, task), or nothing.
-- Names are schema-qualified: a function body resolves them with the caller's search_path.
--
-- Earlier forms, replaced here: migration 003 created claim_next without the clock offset, and
-- migration 005 created it with the offset but without the overlap condition. Both files were
-- folded into this one (a fresh database used to create the function twice, only to replace
-- it at once); a database that applied either has its function, which is dropped here.
DROP FUNCTION IF EXISTS claim_next(text, text, text, double precision, boolean);
DROP FUNCTION IF EXISTS claim_next(text, text, text, double precision, boolean, interval);
CREATE FUNCTION claim_next(
    p_user text, p_dataset text, p_queue text, p_lease_seconds double precision,
    p_want_gold boolean, p_clock_offset interval
) RETURNS TABLE (outcome text, previous_holder text, task review.tasks)
LANGUAGE plpgsql AS $$
DECLARE
    found_task review.tasks;
    leased_id text;
    lapsed_holder text;
    lease_now timestamptz := now() + p_clock_offset;
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtext('mitl-review-claim'), hashtext(p_user || '/' || p_dataset || '/' || p_queue));

    SELECT t.* INTO found_task FROM review.tasks AS t
    WHERE t.dataset = p_dataset AND t.queue = p_queue AND t.status = 'open'
      AND t.lease_holder = p_user AND t.lease_expires_at > lease_now
    ORDER BY t.priority DESC, t.requested_at, t.task_id
    LIMIT 1;
    IF FOUND THEN
        RETURN QUERY SELECT 'resumed'::text, NULL::text, found_task;
        RETURN;
    END IF;

    IF p_want_gold THEN
        IF EXISTS (
            SELECT 1 FROM review.tasks AS t
            WHERE t.dataset = p_dataset AND t.queue = p_queue AND t.status = 'open'
              AND review.claimable(t, p_user, lease_now)
        ) THEN
            RETURN QUERY SELECT 'gold'::text, NULL::text, NULL::review.tasks;
        END IF;
        RETURN;
    END IF;

    WITH next AS (
        SELECT t.task_id, t.lease_holder AS lapsed FROM review.tasks AS t
        WHERE t.dataset = p_dataset AND t.queue = p_queue AND t.status = 'open'
          AND review.claimable(t, p_user, lease_now)
        ORDER BY t.priority DESC, t.requested_at, t.task_id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE review.tasks AS t
    SET lease_holder = p_user, lease_expires_at = lease_now + make_interval(secs => p_lease_seconds)
    FROM next WHERE t.task_id = next.task_id
    RETURNING t.task_id, next.lapsed INTO leased_id, lapsed_holder;
    IF FOUND THEN
        SELECT t.* INTO found_task FROM review.tasks AS t WHERE t.task_id = leased_id;
        RETURN QUERY SELECT 'leased'::text, lapsed_holder, found_task;
    END IF;
END
$$;
