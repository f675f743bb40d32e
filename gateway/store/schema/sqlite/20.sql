-- 20: who owes a date ('' = the ticket's owner; an SC's address for a request they answer on a
-- ticket someone else owns), and when each mail that goes on a calendar or once per person last
-- went (an SC's digest, an account's report, the hint to keep the SC in).
ALTER TABLE commitments ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE TABLE last_sent (
    kind TEXT NOT NULL,                 -- sc-digest | customer-report | keep-sc-hint
    whom TEXT NOT NULL,                 -- the SC's or writer's address | the account's name
    sent_at TEXT NOT NULL,
    PRIMARY KEY (kind, whom)
);
