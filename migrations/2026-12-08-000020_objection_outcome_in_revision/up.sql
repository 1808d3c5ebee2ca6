-- After an objection, only the proposer hears the outcome at once. Everyone else hears it in
-- the letter of the revision's round, or on its own when no revision came by
-- outcome_held_until (as long as a second round lasts, after the close). Rounds closed before
-- this column told everyone at once and hold nothing.
ALTER TABLE consent_rounds ADD COLUMN outcome_held_until timestamptz;

-- Whose letter for a round also tells how an earlier round on the agreement ended
-- (outcome_of): the people whose outcome letter was still held when the round opened.
CREATE TABLE consent_outcomes_carried (
    round_id   uuid NOT NULL REFERENCES consent_rounds (id) ON DELETE CASCADE,
    member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    outcome_of uuid NOT NULL REFERENCES consent_rounds (id) ON DELETE CASCADE,
    PRIMARY KEY (round_id, member_id)
);
