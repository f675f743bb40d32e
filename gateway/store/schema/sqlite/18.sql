-- 18: a deadline the customer stated (the end of that day's hours), with their sentence;
ALTER TABLE tickets ADD COLUMN deadline_at TEXT;
ALTER TABLE tickets ADD COLUMN deadline_said TEXT NOT NULL DEFAULT '';
-- and when the SE was warned that a date of theirs is about to pass unmet
ALTER TABLE commitments ADD COLUMN warned_at TEXT;
