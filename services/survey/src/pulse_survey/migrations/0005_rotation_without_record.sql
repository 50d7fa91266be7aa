-- Issue 13: which optional items a person is asked derives from a keyed hash of their token
-- at inspection time (``pulse_survey.rotation``); no table keeps a person's item set, which
-- matched one answered item set to one person.
ALTER TABLE invitations DROP COLUMN item_ids;
