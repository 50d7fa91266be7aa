-- Internal customers (issue 16): which front-line units a back-office unit serves, dated.
-- A link holds on d when valid_from <= d < valid_to (valid_to NULL = open ended); links of
-- one pair never overlap (checked by the use case under the org lock).
CREATE TABLE serves (
    serving_unit_id text NOT NULL,
    served_unit_id  text NOT NULL,
    valid_from      date NOT NULL,
    valid_to        date,
    PRIMARY KEY (serving_unit_id, served_unit_id, valid_from),
    CHECK (serving_unit_id <> served_unit_id),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX serves_served ON serves (served_unit_id);
