-- The differencing ledger keeps the respondents per cell at release time (parallel to
-- cells), so late arrivals into a released cell are seen as new people; one row per distinct
-- (cells, counts), whose hash member_hash now covers the counts too.
ALTER TABLE released_groups ADD COLUMN cell_counts bigint[] NOT NULL;
ALTER TABLE released_groups DROP CONSTRAINT released_groups_viewer_id_measure_member_hash_n_key;
ALTER TABLE released_groups ADD CONSTRAINT released_groups_viewer_measure_hash_key
    UNIQUE (viewer_id, measure, member_hash);
