-- Survey service schema: the only place in Pulse that knows people. Responses live in
-- another service and share no key with anything here.

-- Dated org hierarchy: one row per version of a unit; valid_to is exclusive (NULL = open).
CREATE TABLE org_versions (
    unit_id      text NOT NULL,
    valid_from   date NOT NULL,
    valid_to     date,
    name         text NOT NULL,
    parent_id    text,
    unit_type    smallint NOT NULL,
    change       text NOT NULL,
    merged_into  text,
    org_version  bigint NOT NULL,
    PRIMARY KEY (unit_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX org_versions_parent ON org_versions (parent_id);
CREATE SEQUENCE org_version_seq;

-- Roster: employees only as HMAC pseudonyms; email is the delivery contact.
CREATE TABLE people (
    pseudonym   text PRIMARY KEY,
    email       text NOT NULL,
    unit_id     text NOT NULL,
    start_date  date,
    end_date    date,
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_unit ON people (unit_id);

-- Item bank: every wording change is a new item_version; survey versions snapshot items.
CREATE TABLE items (
    item_id         text NOT NULL,
    item_version    integer NOT NULL,
    construct       text NOT NULL,
    text            text NOT NULL,
    language        text NOT NULL,
    scale           smallint NOT NULL,
    reverse_scored  boolean NOT NULL,
    required        boolean NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, item_version)
);

CREATE TABLE surveys (
    survey_id   uuid PRIMARY KEY,
    name        text NOT NULL,
    kind        smallint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A version is a serialized pulse.types.v1.SurveyDefinition; published rows never change.
CREATE TABLE survey_versions (
    survey_id      uuid NOT NULL REFERENCES surveys (survey_id),
    version        integer NOT NULL,
    status         text NOT NULL CHECK (status IN ('draft', 'published')),
    definition     bytea NOT NULL,
    rated_unit_id  text,
    published_at   timestamptz,
    PRIMARY KEY (survey_id, version)
);
CREATE UNIQUE INDEX survey_versions_one_draft ON survey_versions (survey_id)
    WHERE status = 'draft';

CREATE TABLE waves (
    wave_id           uuid PRIMARY KEY,
    survey_id         uuid NOT NULL REFERENCES surveys (survey_id),
    survey_version    integer NOT NULL,
    audience_unit_id  text NOT NULL,
    period            text NOT NULL,
    opens_on          date NOT NULL,
    closes_on         date NOT NULL,
    status            text NOT NULL CHECK (status IN ('scheduled', 'open', 'closed')),
    cadence           smallint NOT NULL,
    rotation          integer NOT NULL DEFAULT 0,
    -- k is locked when the wave opens (DESIGN §3).
    min_group_size    integer,
    invited           integer NOT NULL DEFAULT 0,
    CHECK (closes_on > opens_on)
);
CREATE INDEX waves_survey ON waves (survey_id);

-- One invitation per person per wave, or per sampled interaction. Tokens are stored only
-- as sha256 hashes in invitation_tokens (a reminder adds a fresh token to the same one).
CREATE TABLE invitations (
    invitation_id        uuid PRIMARY KEY,
    survey_id            uuid NOT NULL,
    survey_version       integer NOT NULL,
    kind                 smallint NOT NULL,
    wave_id              uuid REFERENCES waves (wave_id),
    person_pseudonym     text,
    interaction_id       text,
    unit_id              text NOT NULL,
    period               text NOT NULL,
    channel              text NOT NULL,
    item_ids             text[] NOT NULL DEFAULT '{}',
    issued_at            timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    reminders_sent       integer NOT NULL DEFAULT 0,
    last_sent_at         timestamptz NOT NULL DEFAULT now(),
    redeemed             boolean NOT NULL DEFAULT false,
    -- HMAC of the caller's redemption key: lets a retry get the same grant.
    redemption_key_hash  text,
    UNIQUE (wave_id, person_pseudonym)
);
CREATE INDEX invitations_wave ON invitations (wave_id);
CREATE INDEX invitations_survey ON invitations (survey_id);

CREATE TABLE invitation_tokens (
    token_hash     text PRIMARY KEY,
    invitation_id  uuid NOT NULL REFERENCES invitations (invitation_id)
);
CREATE INDEX invitation_tokens_invitation ON invitation_tokens (invitation_id);

-- Contact budget across employee and customer surveys, keyed by contact pseudonym.
CREATE TABLE contact_log (
    contact_pseudonym  text PRIMARY KEY,
    last_contacted_on  date NOT NULL
);

CREATE TABLE interactions (
    interaction_id      text PRIMARY KEY,
    unit_id             text NOT NULL,
    occurred_on         date NOT NULL,
    channel             text NOT NULL,
    decision            smallint NOT NULL,
    suppression_reason  text NOT NULL DEFAULT '',
    invitation_id       uuid,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
