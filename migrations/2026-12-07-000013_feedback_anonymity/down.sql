-- Held answers go into the answers table as they are (their receipts are lost: the held rows
-- name nobody).
INSERT INTO feedback_answers (id, request_id, author_id, helped, try_next, rating)
SELECT id, request_id, author_id, helped, try_next, rating FROM feedback_held;
DROP TABLE feedback_held;
DROP TABLE feedback_eligible;
ALTER TABLE feedback_requests DROP COLUMN sealed_at, DROP COLUMN eligibility_changed_at,
    DROP COLUMN frozen_at;
ALTER TABLE feedback_requests DROP CONSTRAINT feedback_requests_min_answers_check;
ALTER TABLE feedback_requests ADD CONSTRAINT feedback_requests_min_answers_check
    CHECK (min_answers >= 2);
ALTER TABLE circles DROP CONSTRAINT circles_feedback_min_answers_check;
ALTER TABLE circles ADD CONSTRAINT circles_feedback_min_answers_check
    CHECK (feedback_min_answers BETWEEN 2 AND 50);
