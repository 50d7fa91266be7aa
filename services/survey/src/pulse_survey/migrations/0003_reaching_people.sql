-- Reaching people (issue 17): languages, kind-specific items, reminder rounds and the
-- delivery outcome of every mailing.

-- The language a person is asked in ('' = the survey's own language).
ALTER TABLE people ADD COLUMN language text NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN language text NOT NULL DEFAULT '';

-- Item wording in further languages ({"de": "...", "es": "..."}) and the survey kinds an
-- item is limited to (empty = every kind its construct fits).
ALTER TABLE items ADD COLUMN translations jsonb NOT NULL DEFAULT '{}';
ALTER TABLE items ADD COLUMN kinds smallint[] NOT NULL DEFAULT '{}';

-- Reminder rounds of a wave so far (automatic ones are due at PULSE_REMINDER_OFFSETS_DAYS).
ALTER TABLE waves ADD COLUMN reminder_rounds integer NOT NULL DEFAULT 0;

-- One row per mailing (0 = the invitation, 1.. its reminders) a delivery adapter handled:
-- its outcome and the mail server's reply. Delivery facts only: nothing here (nor in any
-- event) is shared with the response service, so no answer can be tied to a mailing.
CREATE TABLE deliveries (
    invitation_id  uuid NOT NULL REFERENCES invitations (invitation_id),
    mailing        integer NOT NULL,
    adapter        text NOT NULL,
    status         text NOT NULL CHECK (status IN ('sent', 'bounced', 'failed')),
    attempts       integer NOT NULL,
    detail         text NOT NULL DEFAULT '',
    PRIMARY KEY (invitation_id, mailing)
);
