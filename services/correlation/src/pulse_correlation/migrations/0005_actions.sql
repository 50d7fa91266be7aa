-- Actions and closing the loop (issue 16): what leaders did for a unit and a measure. Kept
-- beside the aggregates their effect is read from.
CREATE TABLE actions (
    action_id   uuid PRIMARY KEY,
    unit_id     text NOT NULL,
    measure     text NOT NULL,
    title       text NOT NULL,
    owner       text NOT NULL,
    start_date  date NOT NULL,
    outcome     text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX actions_unit ON actions (unit_id, start_date);
CREATE INDEX actions_measure ON actions (measure);
