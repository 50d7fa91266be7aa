-- Detractor follow-up (issue 16): a customer who answered in the bottom box and asked to be
-- contacted. Holds the contact they gave and the answer that raised it, never a response id,
-- token or anything of an employee. One row per accepted response at most (follow_up_id is
-- derived from the response id, so a replay cannot add a second).
CREATE TABLE follow_ups (
    follow_up_id  uuid PRIMARY KEY,
    unit_id       text NOT NULL,
    period        text NOT NULL,
    channel       text NOT NULL,
    construct     text NOT NULL,
    score         integer NOT NULL,
    contact       text NOT NULL,
    flagged_at    timestamptz NOT NULL,
    closed_at     timestamptz,
    outcome       text NOT NULL DEFAULT ''
);
CREATE INDEX follow_ups_unit ON follow_ups (unit_id, period);
