-- r_wg(j) is now computed from agg_item (per unit, period and item: n, sum, sum of squares),
-- so the per-respondent item rows are no longer needed: dropping them keeps nothing
-- per respondent in this schema and makes report cost independent of response volume.
DROP TABLE respondent_items;

-- The largest minimum group size k promised by any survey version whose answers feed a
-- measure ('<population>:<construct>', the ledger's measure names). Raised at ingestion;
-- releases of the measure use max(deployment k, this k). Data ingested before this
-- migration is governed by the deployment k only.
CREATE TABLE measure_min_k (
    measure  text PRIMARY KEY,
    k        integer NOT NULL
);

-- Response totals are now sums over agg_population (always equal to these counters): a
-- counter row touched by every response serialised all ingestion transactions.
DROP TABLE ingestion_counters;
