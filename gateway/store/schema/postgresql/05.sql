-- SQLite's 17; a session generation is a random 62-bit number (SQLite's INTEGER holds it).
CREATE TABLE web_failures (
    address TEXT COLLATE "C" NOT NULL,
    client TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX web_failures_address ON web_failures(address, at);
CREATE INDEX web_failures_client ON web_failures(client, address, at);
CREATE INDEX web_failures_at ON web_failures(at);
ALTER TABLE web_users ALTER COLUMN generation TYPE BIGINT;
