-- The locks a customer interaction takes before its contact budget check, in the one order
-- every transaction follows (see pulse_survey.budget), so no two can wait on each other:
--   1. the interaction id (re-sends of one interaction are serialised);
--   2. the budget lock, shared (opening a wave takes it exclusively: it stamps everyone);
--   3. one lock per contact key, ascending by lock number (the same person, reached
--      through several interactions at once, is checked one transaction at a time).
-- A NULL argument skips that step. A function, because its statements run in order.
CREATE FUNCTION take_interaction_locks(
    interaction_key text, budget_lock bigint, contact_keys text[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    key_lock integer;
BEGIN
    IF interaction_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(interaction_key, 0));
    END IF;
    IF budget_lock IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(budget_lock);
    END IF;
    -- Two-integer advisory locks live apart from the one-bigint locks above; 1347764804 is
    -- "PUBD". Keys hashing alike share a lock, which only serialises a little more.
    FOR key_lock IN
        SELECT DISTINCT hashtext(key) FROM unnest(contact_keys) AS key ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(1347764804, key_lock);
    END LOOP;
END
$$;
