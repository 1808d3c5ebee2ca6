-- Feedback that closed with nothing to read (too few answers, or who could answer changed)
-- is not a letter of its own: it is a line in the person's next letter about the circle.
-- `noted_in` is the dedupe key of the letter that carried that line.
ALTER TABLE feedback_requests
    ADD COLUMN closed_quietly boolean NOT NULL DEFAULT false,
    ADD COLUMN noted_in text;
-- Every session letter looks for these (one letter may look again under its own key), so
-- the index holds the quiet closes only, told or not.
CREATE INDEX feedback_requests_notes_idx ON feedback_requests (subject_id, circle_id)
    WHERE closed_quietly;
