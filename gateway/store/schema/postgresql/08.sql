-- SQLite's 20.
ALTER TABLE commitments ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE TABLE last_sent (
    kind TEXT NOT NULL,
    whom TEXT NOT NULL,
    sent_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, whom)
);
