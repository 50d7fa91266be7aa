-- Deterministic releases (issue 13) replace the per-viewer differencing ledger. A period is
-- released once, the first time it is read after it has ended: its aggregates, the org as of
-- its last day and the k of each measure are copied here, and every later read of that
-- period (any viewer, any scope, any report) is decided from these frozen copies only, so
-- late arrivals and later org changes never change a released number.
DROP TABLE released_groups;

CREATE TABLE release_periods (
    period       text PRIMARY KEY,
    released_on  date NOT NULL
);

CREATE TABLE release_construct (
    unit_id      text NOT NULL,
    period       text NOT NULL,
    construct    text NOT NULL,
    population   text NOT NULL,
    n            bigint NOT NULL,
    sum          double precision NOT NULL,
    sumsq        double precision NOT NULL,
    PRIMARY KEY (period, unit_id, construct)
);

CREATE TABLE release_item (
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
    promoters    bigint NOT NULL,
    passives     bigint NOT NULL,
    detractors   bigint NOT NULL,
    top2         bigint NOT NULL,
    n_xt         bigint NOT NULL,
    sum_xt       double precision NOT NULL,
    PRIMARY KEY (period, unit_id, item_id)
);

CREATE TABLE release_channel (
    unit_id      text NOT NULL,
    period       text NOT NULL,
    population   text NOT NULL,
    channel      text NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (period, unit_id, population, channel)
);

-- The org as of the period's last day: units (parent, name, type) and merged units.
CREATE TABLE release_org (
    period       text NOT NULL,
    unit_id      text NOT NULL,
    parent_id    text NOT NULL,
    name         text NOT NULL,
    unit_type    text NOT NULL,
    merged_into  text NOT NULL DEFAULT '',
    PRIMARY KEY (period, unit_id)
);

CREATE TABLE release_k (
    period       text NOT NULL,
    measure      text NOT NULL,
    k            integer NOT NULL,
    PRIMARY KEY (period, measure)
);
