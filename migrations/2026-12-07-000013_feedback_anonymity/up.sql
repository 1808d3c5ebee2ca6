-- Feedback that stays anonymous against whoever leads and whoever reads the database.
--
-- Who may answer is frozen when a request opens: the people marked as attending then, who
-- were members before the session ended. Answers are held apart until the close, under a
-- keyed fingerprint of who gave them instead of their id, and written out with their
-- receipts at the close, in random order, in one transaction.

UPDATE circles SET feedback_min_answers = 3 WHERE feedback_min_answers < 3;
ALTER TABLE circles DROP CONSTRAINT circles_feedback_min_answers_check;
ALTER TABLE circles ADD CONSTRAINT circles_feedback_min_answers_check
    CHECK (feedback_min_answers BETWEEN 3 AND 50);

UPDATE feedback_requests SET min_answers = 3 WHERE min_answers < 3;
ALTER TABLE feedback_requests DROP CONSTRAINT feedback_requests_min_answers_check;
ALTER TABLE feedback_requests ADD CONSTRAINT feedback_requests_min_answers_check
    CHECK (min_answers >= 3);

ALTER TABLE feedback_requests
    -- When who may answer was frozen (NULL while attendance was not marked at the opening:
    -- then the first answer after it is marked freezes it).
    ADD COLUMN frozen_at timestamptz,
    -- When an attendance change or a departure changed who may answer after the freeze:
    -- from then on the person the feedback is about is shown nothing.
    ADD COLUMN eligibility_changed_at timestamptz,
    -- When the held answers were written out (at the close).
    ADD COLUMN sealed_at timestamptz;

-- Who may answer a request, as frozen.
CREATE TABLE feedback_eligible (
    request_id uuid NOT NULL REFERENCES feedback_requests (id) ON DELETE CASCADE,
    member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (request_id, member_id)
);

-- Answers while the request is open: no member, no time; `tag` is an HMAC of the request
-- and the person under the service's secret key, so a second answer is refused without the
-- table naming anyone. Emptied at the close.
CREATE TABLE feedback_held (
    id          uuid PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES feedback_requests (id) ON DELETE CASCADE,
    tag         bytea NOT NULL,
    author_id   uuid REFERENCES members (id) ON DELETE SET NULL,
    helped      text NOT NULL DEFAULT '' CHECK (length(helped) <= 2000),
    try_next    text NOT NULL DEFAULT '' CHECK (length(try_next) <= 2000),
    rating      smallint CHECK (rating BETWEEN 1 AND 3),
    UNIQUE (request_id, tag)
);
CREATE TRIGGER feedback_held_author BEFORE INSERT OR UPDATE ON feedback_held
    FOR EACH ROW EXECUTE FUNCTION feedback_answers_anonymous();

-- Requests open now: who may answer is who is marked as attending now.
INSERT INTO feedback_eligible (request_id, member_id)
SELECT q.id, r.member_id
FROM feedback_requests q
JOIN sessions s ON s.id = q.session_id
JOIN rsvps r ON r.session_id = q.session_id AND r.attended
JOIN memberships m ON m.circle_id = q.circle_id AND m.member_id = r.member_id
WHERE r.member_id <> q.subject_id AND m.joined_at <= s.ends_at;
UPDATE feedback_requests q SET frozen_at = now()
WHERE EXISTS (SELECT 1 FROM rsvps r WHERE r.session_id = q.session_id AND r.attended IS NOT NULL);
-- Closed requests were read as they stood; open ones are written out at their close.
UPDATE feedback_requests SET sealed_at = now() WHERE closes_at <= now();

-- Answers and receipts written before now were stored in the same transaction as each other,
-- so their transaction ids paired them. Write every one again in random order in this one
-- transaction, under new random ids: the pairs are gone.
CREATE TEMPORARY TABLE answers_again ON COMMIT DROP AS
    SELECT request_id, author_id, helped, try_next, rating, reported_at FROM feedback_answers;
DELETE FROM feedback_answers;
INSERT INTO feedback_answers (id, request_id, author_id, helped, try_next, rating, reported_at)
SELECT gen_random_uuid(), request_id, author_id, helped, try_next, rating, reported_at
FROM answers_again ORDER BY random();
CREATE TEMPORARY TABLE receipts_again ON COMMIT DROP AS
    SELECT request_id, member_id FROM feedback_receipts;
DELETE FROM feedback_receipts;
INSERT INTO feedback_receipts (request_id, member_id)
SELECT request_id, member_id FROM receipts_again ORDER BY random();
