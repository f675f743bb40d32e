-- 3: mail text in tables of its own. SQLite writes a whole record again on any UPDATE, so
-- marking a message processed or moved, or a mail sent, wrote its full text to the journal
-- once more (a 25 MB message twice); the rows that change now stay small.
CREATE TABLE inbox_raw (
    inbox_id INTEGER PRIMARY KEY REFERENCES inbox(id),
    raw BLOB NOT NULL
);
INSERT INTO inbox_raw (inbox_id, raw) SELECT id, raw FROM inbox;
ALTER TABLE inbox DROP COLUMN raw;
CREATE TABLE outbox_raw (
    outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id),
    raw BLOB NOT NULL
);
INSERT INTO outbox_raw (outbox_id, raw) SELECT id, raw FROM outbox;
ALTER TABLE outbox DROP COLUMN raw;
