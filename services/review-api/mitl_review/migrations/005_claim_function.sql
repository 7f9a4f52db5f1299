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
-- 4. otherwise leases the first claimable review task in claim order (priority, then age):
--    open, without a live lease, not skipped by the person. Rows another transaction is
--    claiming are skipped, not waited for, so two claimers never get the same task. Returns
--    ('leased', holder of the lapsed lease it replaced or NULL, task), or nothing.
-- Names are schema-qualified: a function body resolves them with the caller's search_path.
--
-- This was migration 003, without the clock offset; a database that applied 003 has that
-- function, which is replaced here.
DROP FUNCTION IF EXISTS claim_next(text, text, text, double precision, boolean);
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
              AND t.kind = 'review'
              AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= lease_now)
              AND NOT (p_user = ANY (t.skipped_by))
        ) THEN
            RETURN QUERY SELECT 'gold'::text, NULL::text, NULL::review.tasks;
        END IF;
        RETURN;
    END IF;

    WITH next AS (
        SELECT t.task_id, t.lease_holder AS lapsed FROM review.tasks AS t
        WHERE t.dataset = p_dataset AND t.queue = p_queue AND t.status = 'open'
          AND t.kind = 'review'
          AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= lease_now)
          AND NOT (p_user = ANY (t.skipped_by))
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
