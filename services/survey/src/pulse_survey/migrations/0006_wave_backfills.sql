-- Issue 19: waves of a past period opened by an admin (BackfillWave). One audit row per
-- such wave naming who asked and why; the scheduler leaves the wave open until its tokens
-- expire (tokens_expire_at) instead of closing it because its closing day has passed.
CREATE TABLE wave_backfills (
    wave_id           uuid PRIMARY KEY REFERENCES waves (wave_id),
    requested_by      text NOT NULL,
    reason            text NOT NULL,
    requested_at      timestamptz NOT NULL DEFAULT now(),
    tokens_expire_at  timestamptz NOT NULL
);
