-- Issue 13, "no order, no time": accepted employee responses wait here, sealed (AES-GCM
-- under a key derived from the deployment secret), until at least k of their group wait
-- or the wave has closed; then one transaction writes them, shuffled, to the answer tables
-- and deletes them here. No time, no person, no token; random ids.
CREATE TABLE held_responses (
    held_id    uuid PRIMARY KEY,
    survey_id  text NOT NULL,
    wave_id    text NOT NULL,
    unit_id    text NOT NULL,
    period     text NOT NULL,
    batch_k    integer NOT NULL CHECK (batch_k >= 1),
    -- The wave's closing day (the same for everyone invited to it): held responses are
    -- written from then on, whatever their number.
    closes_on  date NOT NULL,
    sealed     bytea NOT NULL
);
CREATE INDEX held_responses_group ON held_responses (survey_id, wave_id, unit_id, period);
CREATE INDEX held_responses_wave ON held_responses (wave_id);
