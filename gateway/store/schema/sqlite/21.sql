-- 21: an SE's record (the reply dates met in the last weeks) read through the replies alone: the
-- acknowledgements met in a backlog made each new mail's capacity check read all of them.
CREATE INDEX commitments_met_reply ON commitments(met_at)
    WHERE met_at IS NOT NULL AND kind IN ('actionable', 'point') AND promised = 1;
