-- 9: before promising a reply date the gateway reads what the SE already owes (their open
-- tickets' dates) and their recent record, per message: neither may scan their history.
CREATE INDEX tickets_se_open ON tickets(se) WHERE state IN ('new', 'answered');
CREATE INDEX commitments_met ON commitments(met_at) WHERE met_at IS NOT NULL;
