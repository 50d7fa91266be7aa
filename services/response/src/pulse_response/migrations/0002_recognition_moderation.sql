-- Recognition board moderation (issue 17): a customer comment shared with the team is shown
-- only after a team lead approved it; 'hidden' and 'reported' are never shown.
ALTER TABLE comments ADD COLUMN moderation text NOT NULL DEFAULT 'pending'
    CHECK (moderation IN ('pending', 'approved', 'hidden', 'reported'));
CREATE INDEX comments_board ON comments (moderation, period) WHERE shared_with_team AND positive;
