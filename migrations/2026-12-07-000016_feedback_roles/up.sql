-- Feedback is asked about the holders of these roles only (by default the facilitator's), and
-- only about holders who came.
ALTER TABLE circles ADD COLUMN feedback_roles text[] NOT NULL DEFAULT '{facilitator}'
    CHECK (cardinality(feedback_roles) <= 20);
