-- Response service schema. Confidentiality (DESIGN §3): no token, no person, no timestamp
-- on responses or comments; random UUID keys (no sequences) so ids reveal no order.

-- Published survey versions, filled from pulse.survey.published (or GetSurvey on a miss).
CREATE TABLE survey_definitions (
    survey_id               text NOT NULL,
    version                 integer NOT NULL,
    kind                    smallint NOT NULL,
    min_group_size          integer NOT NULL,
    min_comment_group_size  integer NOT NULL,
    definition              bytea NOT NULL,
    PRIMARY KEY (survey_id, version)
);

-- One accepted response. Employee rows carry only unit, survey version, period (and wave);
-- channel is kept for customer rows only.
CREATE TABLE responses (
    response_id     uuid PRIMARY KEY,
    survey_id       text NOT NULL,
    survey_version  integer NOT NULL,
    kind            smallint NOT NULL,
    unit_id         text NOT NULL,
    period          text NOT NULL,
    wave_id         text NOT NULL DEFAULT '',
    channel         text NOT NULL DEFAULT '',
    source          text NOT NULL CHECK (source IN ('live', 'import')),
    batch_id        text NOT NULL DEFAULT '',
    CHECK (kind = 2 OR channel = '')
);
CREATE INDEX responses_group ON responses (survey_id, period, unit_id);
CREATE INDEX responses_wave ON responses (wave_id, unit_id) WHERE wave_id <> '';
CREATE INDEX responses_unit_period ON responses (unit_id, period);

CREATE TABLE response_scores (
    response_id  uuid NOT NULL REFERENCES responses (response_id) ON DELETE CASCADE,
    item_id      text NOT NULL,
    score        smallint NOT NULL,
    PRIMARY KEY (response_id, item_id)
);

-- Free text, stored apart from scores and with no link back to the response.
CREATE TABLE comments (
    comment_id             uuid PRIMARY KEY,
    survey_id              text NOT NULL,
    kind                   smallint NOT NULL,
    unit_id                text NOT NULL,
    period                 text NOT NULL,
    item_id                text NOT NULL,
    text                   text NOT NULL,
    -- Customers only: consent to show the comment to the team, and whether it was praise.
    shared_with_team       boolean NOT NULL DEFAULT false,
    positive               boolean NOT NULL DEFAULT false,
    staff_treatment_score  smallint NOT NULL DEFAULT 0,
    CHECK (kind = 2 OR NOT shared_with_team)
);
CREATE INDEX comments_group ON comments (unit_id, period, survey_id);

-- Submit idempotency: sha256("idem:" + key) -> the first reply. created_on is a coarse date
-- used only to purge old keys.
CREATE TABLE idempotency (
    key_hash    bytea PRIMARY KEY,
    reply       bytea NOT NULL,
    created_on  date NOT NULL DEFAULT current_date
);

CREATE TABLE import_batches (
    batch_id        text PRIMARY KEY,
    survey_id       text NOT NULL,
    survey_version  integer NOT NULL,
    source_name     text NOT NULL DEFAULT '',
    accepted        integer NOT NULL,
    created_on      date NOT NULL DEFAULT current_date
);
