-- The dashboard's "needs attention" counts each circle's feedback that closed lately with too
-- few answers to show its lead.
CREATE INDEX feedback_requests_quiet ON feedback_requests (circle_id, closes_at) WHERE closed_quietly;
