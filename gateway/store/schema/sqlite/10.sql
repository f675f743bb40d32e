-- 10: leave set by mail (#away), beside the config's people[].away.
CREATE TABLE leave (
    address TEXT NOT NULL,              -- lower-case
    first_day TEXT NOT NULL,            -- ISO dates, inclusive, the team's calendar
    last_day TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE INDEX leave_last_day ON leave(last_day);
