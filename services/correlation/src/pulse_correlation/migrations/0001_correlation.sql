-- Correlation service: survey/org caches, sufficient-statistic aggregates, reports and the
-- differencing ledger. Nothing here can be joined to a response id or a person.

-- Published survey versions (from pulse.survey.published): what each item measures.
CREATE TABLE surveys (
    survey_id    text NOT NULL,
    version      integer NOT NULL,
    kind         integer NOT NULL,
    definition   bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (survey_id, version)
);

-- Dated org versions (from pulse.org.changed); the newest org_version wins per (unit, date).
CREATE TABLE org_units (
    unit_id      text NOT NULL,
    valid_from   date NOT NULL,
    valid_to     date,
    parent_id    text NOT NULL DEFAULT '',
    name         text NOT NULL DEFAULT '',
    unit_type    text NOT NULL DEFAULT '',
    change       text NOT NULL DEFAULT '',
    merged_into  text NOT NULL DEFAULT '',
    org_version  bigint NOT NULL,
    PRIMARY KEY (unit_id, valid_from)
);

-- Per (unit, period, construct) sufficient statistics of respondents' construct scores on
-- the 0-100 scale. population: employee | customer | internal.
CREATE TABLE agg_construct (
    unit_id      text NOT NULL,
    period       text NOT NULL,
    construct    text NOT NULL,
    population   text NOT NULL,
    n            bigint NOT NULL,
    sum          double precision NOT NULL,
    sumsq        double precision NOT NULL,
    PRIMARY KEY (unit_id, period, construct)
);

-- Per (unit, period, item) statistics of the (reverse-scored) item value on its own scale,
-- with counts per scale point and the NPS / top-2-box categories.
CREATE TABLE agg_item (
    unit_id      text NOT NULL,
    period       text NOT NULL,
    item_id      text NOT NULL,
    construct    text NOT NULL,
    population   text NOT NULL,
    scale_min    integer NOT NULL,
    scale_max    integer NOT NULL,
    n            bigint NOT NULL,
    sum          double precision NOT NULL,
    sumsq        double precision NOT NULL,
    counts       bigint[] NOT NULL,
    promoters    bigint NOT NULL DEFAULT 0,
    passives     bigint NOT NULL DEFAULT 0,
    detractors   bigint NOT NULL DEFAULT 0,
    top2         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_id, period, item_id)
);

-- Customer/internal responses per interaction channel (for the channel-mix covariate).
CREATE TABLE agg_channel (
    unit_id      text NOT NULL,
    period       text NOT NULL,
    population   text NOT NULL,
    channel      text NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (unit_id, period, population, channel)
);

-- Responses per (unit, period, population): the group sizes the confidentiality rules use.
CREATE TABLE agg_population (
    unit_id      text NOT NULL,
    period       text NOT NULL,
    population   text NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (unit_id, period, population)
);

-- Item values per respondent for r_wg(j). respondent is a random uuid drawn at ingestion
-- (NOT the response id), so nothing here joins to the response service. Never released.
CREATE TABLE respondent_items (
    respondent   uuid NOT NULL,
    unit_id      text NOT NULL,
    period       text NOT NULL,
    construct    text NOT NULL,
    item_id      text NOT NULL,
    n_options    integer NOT NULL,
    value        double precision NOT NULL,
    PRIMARY KEY (respondent, item_id)
);
CREATE INDEX respondent_items_unit ON respondent_items (construct, period, unit_id);

-- Ingestion counters (totals only).
CREATE TABLE ingestion_counters (
    counter      text PRIMARY KEY,
    n            bigint NOT NULL
);

-- Released groups per viewer, for the differencing rule (see confidentiality.py).
CREATE TABLE released_groups (
    id           bigserial PRIMARY KEY,
    viewer_id    text NOT NULL,
    measure      text NOT NULL,
    member_hash  text NOT NULL,
    cells        text[] NOT NULL,
    n            bigint NOT NULL,
    source       text NOT NULL,
    released_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (viewer_id, measure, member_hash, n)
);
CREATE INDEX released_groups_cells ON released_groups USING gin (cells);
CREATE INDEX released_groups_viewer ON released_groups (viewer_id, measure);

CREATE TABLE reports (
    report_id      uuid PRIMARY KEY,
    viewer_id      text NOT NULL,
    viewer_scope   text NOT NULL,
    scope_unit_id  text NOT NULL,
    outcome        text NOT NULL,
    verdict_level  text NOT NULL,
    units_reported integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    code_version   text NOT NULL,
    inputs         jsonb NOT NULL,
    report_json    jsonb NOT NULL,
    report_pb      bytea NOT NULL
);
CREATE INDEX reports_viewer ON reports (viewer_id, created_at DESC);
