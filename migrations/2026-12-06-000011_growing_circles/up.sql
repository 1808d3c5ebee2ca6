-- Circles that grow circles: when a circle's waitlist is long enough, a member who has led it
-- is asked to lead a sibling, and the people waiting move to it. Circles grown from one
-- another form a family, read together on the leadership page.

ALTER TABLE circles
    ADD COLUMN family_id uuid REFERENCES circles (id) ON DELETE SET NULL,
    ADD COLUMN parent_id uuid REFERENCES circles (id) ON DELETE SET NULL,
    -- People waiting before a sibling is proposed; NULL: half the capacity; 0: never.
    ADD COLUMN grow_threshold integer CHECK (grow_threshold BETWEEN 0 AND 10000);
CREATE INDEX circles_family ON circles (family_id) WHERE family_id IS NOT NULL;

CREATE TABLE sibling_proposals (
    id              uuid PRIMARY KEY,
    circle_id       uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    state           text NOT NULL CHECK (state IN ('asking', 'accepted', 'unled', 'withdrawn')),
    started_by      text NOT NULL CHECK (started_by IN ('threshold', 'organiser')),
    -- Who may lead, best first, when the proposal was made.
    lead_order      uuid[] NOT NULL,
    -- Those who said "not now" or let the ask lapse.
    passed          uuid[] NOT NULL DEFAULT '{}',
    asked_member_id uuid REFERENCES members (id) ON DELETE SET NULL,
    asked_at        timestamptz,
    answer_by       timestamptz,
    sibling_id      uuid REFERENCES circles (id) ON DELETE SET NULL,
    moved           integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz
);
-- One proposal at a time asks for a lead.
CREATE UNIQUE INDEX sibling_proposals_one_asking ON sibling_proposals (circle_id)
    WHERE state = 'asking';
CREATE INDEX sibling_proposals_circle ON sibling_proposals (circle_id, created_at DESC);

-- Who moved from the waitlist to the sibling, and from which place.
CREATE TABLE sibling_moves (
    proposal_id   uuid NOT NULL REFERENCES sibling_proposals (id) ON DELETE CASCADE,
    member_id     uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    from_position integer NOT NULL,
    PRIMARY KEY (proposal_id, member_id)
);
