-- Shared leadership: the roles a circle's sessions need, who holds each, the log of every
-- change of holder, each member's rotation preferences, swaps offered by link and the notes
-- one lead leaves for the next.

ALTER TABLE circles
    ADD COLUMN planning_horizon integer NOT NULL DEFAULT 12 CHECK (planning_horizon BETWEEN 1 AND 52),
    ADD COLUMN role_ask_days integer NOT NULL DEFAULT 10 CHECK (role_ask_days BETWEEN 0 AND 60),
    ADD COLUMN role_answer_hours integer NOT NULL DEFAULT 72 CHECK (role_answer_hours BETWEEN 1 AND 720);

CREATE TABLE role_kinds (
    circle_id    uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    guide        text NOT NULL DEFAULT '' CHECK (length(guide) <= 2000),
    slots        integer NOT NULL DEFAULT 1 CHECK (slots BETWEEN 1 AND 10),
    rotates      boolean NOT NULL DEFAULT true,
    min_attended integer NOT NULL DEFAULT 0 CHECK (min_attended BETWEEN 0 AND 100),
    position     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (circle_id, key),
    -- The facilitator role has exactly one slot: it is sessions.facilitator_id.
    CHECK (key <> 'facilitator' OR slots = 1)
);

-- Every circle has a facilitator role, however it was created.
CREATE FUNCTION circles_add_facilitator_role() RETURNS trigger AS $$
BEGIN
    INSERT INTO role_kinds (circle_id, key, name, guide, position)
    VALUES (NEW.id, 'facilitator', 'Facilitator',
            'Open the session, keep the conversation moving and make room for every voice; close on time and note where the circle stopped.',
            0)
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER circles_facilitator_role AFTER INSERT ON circles
    FOR EACH ROW EXECUTE FUNCTION circles_add_facilitator_role();

INSERT INTO role_kinds (circle_id, key, name, guide, position)
SELECT id, 'facilitator', 'Facilitator',
       'Open the session, keep the conversation moving and make room for every voice; close on time and note where the circle stopped.',
       0
FROM circles;

-- Who holds (or is proposed for) each slot of each role of each session. One row per slot;
-- a decline leaves the row to the next person and is kept in role_events.
CREATE TABLE session_roles (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    circle_id   uuid NOT NULL,
    role_key    text NOT NULL,
    slot        integer NOT NULL DEFAULT 1 CHECK (slot BETWEEN 1 AND 10),
    member_id   uuid REFERENCES members (id) ON DELETE SET NULL,
    state       text NOT NULL CHECK (state IN ('proposed', 'asked', 'confirmed', 'declined', 'open')),
    source      text NOT NULL DEFAULT 'rotation' CHECK (source IN ('rotation', 'organiser', 'swap')),
    why         text NOT NULL DEFAULT '',
    seed        bigint,
    asked_at    timestamptz,
    answered_at timestamptz,
    reported_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, role_key, slot),
    FOREIGN KEY (circle_id, role_key) REFERENCES role_kinds (circle_id, key) ON DELETE CASCADE
);
CREATE INDEX session_roles_member ON session_roles (member_id, state);
CREATE INDEX session_roles_circle ON session_roles (circle_id, role_key);
CREATE INDEX session_roles_waiting ON session_roles (state, asked_at) WHERE state IN ('proposed', 'asked', 'open', 'declined');

-- Append-only: who took, gave up or was given which role, and when.
CREATE TABLE role_events (
    id         bigserial PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    circle_id  uuid NOT NULL,
    role_key   text NOT NULL,
    slot       integer NOT NULL,
    member_id  uuid REFERENCES members (id) ON DELETE SET NULL,
    kind       text NOT NULL CHECK (kind IN ('asked', 'confirmed', 'declined', 'timed_out', 'released',
                                             'assigned', 'swapped_out', 'swapped_in')),
    actor_id   uuid REFERENCES members (id) ON DELETE SET NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX role_events_session ON role_events (session_id, role_key, kind);

CREATE TABLE rotation_prefs (
    circle_id       uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    member_id       uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    opted_in        boolean NOT NULL DEFAULT true,
    -- 100 is a full share; 50 asks half as often, 200 twice as often.
    weight          integer NOT NULL DEFAULT 100 CHECK (weight BETWEEN 1 AND 200),
    paused_until    date,
    opted_out_roles text[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (circle_id, member_id)
);

CREATE TABLE swap_requests (
    id              uuid PRIMARY KEY,
    session_role_id uuid NOT NULL REFERENCES session_roles (id) ON DELETE CASCADE,
    requester_id    uuid REFERENCES members (id) ON DELETE SET NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'taken', 'void')),
    taken_by        uuid REFERENCES members (id) ON DELETE SET NULL,
    -- The session's ics_sequence when the swap was asked: a move voids it.
    session_sequence integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
CREATE UNIQUE INDEX swap_requests_one_open ON swap_requests (session_role_id) WHERE status = 'open';

CREATE TABLE swap_offers (
    swap_id    uuid NOT NULL REFERENCES swap_requests (id) ON DELETE CASCADE,
    member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    rank       integer NOT NULL,
    offered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (swap_id, member_id)
);

CREATE TABLE handoffs (
    id              uuid PRIMARY KEY,
    circle_id       uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    from_session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    author_id       uuid REFERENCES members (id) ON DELETE SET NULL,
    stopped_at      text NOT NULL DEFAULT '' CHECK (length(stopped_at) <= 2000),
    open_questions  text NOT NULL DEFAULT '' CHECK (length(open_questions) <= 2000),
    follow_up       text NOT NULL DEFAULT '' CHECK (length(follow_up) <= 2000),
    try_next        text NOT NULL DEFAULT '' CHECK (length(try_next) <= 2000),
    visibility      text NOT NULL DEFAULT 'next_lead' CHECK (visibility IN ('next_lead', 'role_holders', 'circle')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (from_session_id)
);
CREATE INDEX handoffs_circle ON handoffs (circle_id, created_at);

-- Today's confirmed facilitators become confirmed facilitator rows.
INSERT INTO session_roles (id, session_id, circle_id, role_key, slot, member_id, state, source, why, answered_at)
SELECT gen_random_uuid(), s.id, s.circle_id, 'facilitator', 1, s.facilitator_id, 'confirmed', 'organiser',
       'Set by an organiser.', s.updated_at
FROM sessions s WHERE s.facilitator_id IS NOT NULL;
