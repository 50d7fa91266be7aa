-- Internal customers (issue 16): the dated "serves" links learnt from pulse.org.serves.
CREATE TABLE serves (
    serving_unit_id text NOT NULL,
    served_unit_id  text NOT NULL,
    valid_from      date NOT NULL,
    valid_to        date,
    PRIMARY KEY (serving_unit_id, served_unit_id, valid_from)
);
