-- SQLite's 14.
CREATE INDEX commitments_open_ticket ON commitments(ticket_id, due_at)
    WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL;
