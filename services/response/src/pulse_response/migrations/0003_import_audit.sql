-- The import audit (admin only): every historical import and every refused attempt, with
-- who ran it, when, how many rows, and which units and periods it named. Batches are not
-- people: the time of an import reveals nothing about any respondent.
CREATE TABLE import_audit (
    audit_id        uuid PRIMARY KEY,
    batch_id        text NOT NULL DEFAULT '',
    survey_id       text NOT NULL,
    survey_version  integer NOT NULL,
    source_name     text NOT NULL DEFAULT '',
    accepted        integer NOT NULL,
    imported_by     text NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now(),
    unit_ids        text[] NOT NULL,
    periods         text[] NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('imported', 'dry_run', 'refused')),
    reason          text NOT NULL DEFAULT ''
);
CREATE INDEX import_audit_newest ON import_audit (imported_at DESC);
