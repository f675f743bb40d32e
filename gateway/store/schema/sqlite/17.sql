-- 17: wrong passwords, kept (a restart forgets no lockout), per address and per client.
CREATE TABLE web_failures (
    address TEXT NOT NULL,              -- as typed, lower-case
    client TEXT NOT NULL,               -- the peer, or what a trusted proxy saw
    at TEXT NOT NULL
);
CREATE INDEX web_failures_address ON web_failures(address, at);
CREATE INDEX web_failures_client ON web_failures(client, address, at);
CREATE INDEX web_failures_at ON web_failures(at);
