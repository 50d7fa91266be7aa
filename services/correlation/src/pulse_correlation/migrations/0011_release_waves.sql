-- The waves of each period (issue 13): employee numbers of a period are released only once
-- every wave of it has closed (``releases.ReleaseRule``). Filled from the survey service's
-- pulse.wave.opened (the day it opened) and pulse.wave.closed (the day it closed; NULL
-- while open).
CREATE TABLE release_waves (
    wave_id    text PRIMARY KEY,
    period     text NOT NULL,
    opened_on  date,
    closed_on  date
);

CREATE INDEX release_waves_period ON release_waves (period);
