-- Issue 20: what a report reads to find its periods and scope is found by period, one index
-- probe per period (a loose index scan), not a scan of every cell: without these, a report's
-- first queries grow with the cells that have data, i.e. with the responses.
-- Both columns are already in the tables' primary keys, so updates of n / sums stay HOT.
CREATE INDEX agg_population_period ON agg_population (period);
CREATE INDEX agg_construct_period ON agg_construct (period);
