-- Stored chain reports (issue 16) beside the linkage reports, and the scope index both
-- kinds are listed by: a report is readable by every leader whose scope holds its scope
-- (issue 15), so lists select by scope unit, not by who ran the report.
CREATE TABLE chain_reports (
    report_id      uuid PRIMARY KEY,
    viewer_id      text NOT NULL,
    viewer_scope   text NOT NULL,
    scope_unit_id  text NOT NULL,
    outcome        text NOT NULL,
    verdict_level  text NOT NULL,
    units_reported integer NOT NULL,
    created_at     timestamptz NOT NULL,
    code_version   text NOT NULL,
    inputs         jsonb NOT NULL,
    report_json    jsonb NOT NULL,
    report_pb      bytea NOT NULL
);
CREATE INDEX chain_reports_scope ON chain_reports (scope_unit_id, created_at DESC);
CREATE INDEX reports_scope ON reports (scope_unit_id, created_at DESC);
