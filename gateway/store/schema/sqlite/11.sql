-- 11: the language the customer's mail is written in, decided when the ticket opens.
ALTER TABLE tickets ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
