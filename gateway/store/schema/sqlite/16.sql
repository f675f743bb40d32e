-- 16: a ticket whose customer is unhappy with us keeps the sentence that shows it (at risk).
ALTER TABLE tickets ADD COLUMN at_risk TEXT NOT NULL DEFAULT '';
