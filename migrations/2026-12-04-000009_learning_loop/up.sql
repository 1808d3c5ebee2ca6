-- The learning loop: feedback for whoever led a session, agreements a circle adopts by consent
-- round, and talking-piece agendas whose speaking order comes from the RSVPs.

ALTER TABLE circles
    -- Feedback is shown to the person who led only when at least this many answered.
    ADD COLUMN feedback_min_answers integer NOT NULL DEFAULT 3 CHECK (feedback_min_answers BETWEEN 2 AND 50),
    -- A consent round adopts only when at least this share of active members answered.
    ADD COLUMN consent_quorum_percent integer NOT NULL DEFAULT 50 CHECK (consent_quorum_percent BETWEEN 1 AND 100),
    ADD COLUMN consent_round_days integer NOT NULL DEFAULT 7 CHECK (consent_round_days BETWEEN 2 AND 30);

-- What the holder chose when accepting: feedback kept anonymous, with names, or none.
ALTER TABLE session_roles
    ADD COLUMN feedback text NOT NULL DEFAULT 'anonymous' CHECK (feedback IN ('anonymous', 'named', 'none'));

-- One request per role holder who wanted feedback, opened with the reflection prompt.
CREATE TABLE feedback_requests (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    circle_id   uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    subject_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    role_key    text NOT NULL,
    mode        text NOT NULL CHECK (mode IN ('anonymous', 'named')),
    min_answers integer NOT NULL CHECK (min_answers >= 2),
    opened_at   timestamptz NOT NULL DEFAULT now(),
    closes_at   timestamptz NOT NULL,
    -- When the person who led was told the feedback closed.
    results_sent_at timestamptz,
    UNIQUE (session_id, role_key, subject_id)
);
CREATE INDEX feedback_requests_subject ON feedback_requests (subject_id, closes_at);

-- Anonymous feedback cannot become named once the request is open.
CREATE FUNCTION feedback_requests_keep_mode() RETURNS trigger AS $$
BEGIN
    IF OLD.mode = 'anonymous' AND NEW.mode <> 'anonymous' THEN
        RAISE EXCEPTION 'anonymous feedback cannot be made named once it is open';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER feedback_requests_mode BEFORE UPDATE ON feedback_requests
    FOR EACH ROW EXECUTE FUNCTION feedback_requests_keep_mode();

-- Who answered a request: one answer each. Kept apart from the answers, and without a time,
-- so an anonymous answer cannot be traced back through it.
CREATE TABLE feedback_receipts (
    request_id uuid NOT NULL REFERENCES feedback_requests (id) ON DELETE CASCADE,
    member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (request_id, member_id)
);

-- The answers. Ids are random and there is no timestamp; author_id is set only when the
-- request is named.
CREATE TABLE feedback_answers (
    id          uuid PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES feedback_requests (id) ON DELETE CASCADE,
    author_id   uuid REFERENCES members (id) ON DELETE SET NULL,
    helped      text NOT NULL DEFAULT '' CHECK (length(helped) <= 2000),
    try_next    text NOT NULL DEFAULT '' CHECK (length(try_next) <= 2000),
    rating      smallint CHECK (rating BETWEEN 1 AND 3),
    reported_at timestamptz
);
CREATE INDEX feedback_answers_request ON feedback_answers (request_id);

CREATE FUNCTION feedback_answers_anonymous() RETURNS trigger AS $$
BEGIN
    IF NEW.author_id IS NOT NULL
       AND (SELECT mode FROM feedback_requests WHERE id = NEW.request_id) <> 'named' THEN
        RAISE EXCEPTION 'an anonymous answer cannot name its author';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER feedback_answers_author BEFORE INSERT OR UPDATE ON feedback_answers
    FOR EACH ROW EXECUTE FUNCTION feedback_answers_anonymous();

-- A circle's agreements, each a series of versions; a version becomes the circle's when a
-- consent round adopts it.
CREATE TABLE agreements (
    id              uuid PRIMARY KEY,
    circle_id       uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    status          text NOT NULL DEFAULT 'in_round'
                    CHECK (status IN ('in_round', 'integrating', 'adopted', 'not_adopted', 'retired')),
    current_version integer NOT NULL DEFAULT 1,
    adopted_version integer,
    adopted_at      timestamptz,
    review_every_sessions integer CHECK (review_every_sessions BETWEEN 1 AND 52),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agreements_circle ON agreements (circle_id, created_at);

CREATE TABLE agreement_versions (
    agreement_id uuid NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    -- What changed and why, for a revision.
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    proposed_by  uuid REFERENCES members (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, version)
);

CREATE TABLE consent_rounds (
    id           uuid PRIMARY KEY,
    agreement_id uuid NOT NULL,
    circle_id    uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('proposal', 'integration', 'review')),
    opened_at    timestamptz NOT NULL DEFAULT now(),
    closes_at    timestamptz NOT NULL,
    closed_at    timestamptz,
    -- Active members when the round opened, and how many answers it needs.
    eligible     integer NOT NULL CHECK (eligible >= 0),
    quorum       integer NOT NULL CHECK (quorum >= 1),
    outcome      text CHECK (outcome IN ('adopted', 'objected', 'no_quorum')),
    FOREIGN KEY (agreement_id, version) REFERENCES agreement_versions (agreement_id, version) ON DELETE CASCADE,
    CHECK ((closed_at IS NULL) = (outcome IS NULL))
);
CREATE UNIQUE INDEX consent_rounds_one_open ON consent_rounds (agreement_id) WHERE closed_at IS NULL;
CREATE INDEX consent_rounds_circle ON consent_rounds (circle_id, opened_at);

-- Every answer ever given; `latest` marks the one that counts. An objection needs a reason.
CREATE TABLE consent_stances (
    id        bigserial PRIMARY KEY,
    round_id  uuid NOT NULL REFERENCES consent_rounds (id) ON DELETE CASCADE,
    member_id uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    stance    text NOT NULL CHECK (stance IN ('consent', 'concern', 'objection', 'stand_aside')),
    reason    text NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    latest    boolean NOT NULL DEFAULT true,
    at        timestamptz NOT NULL DEFAULT now(),
    CHECK (stance <> 'objection' OR length(btrim(reason)) > 0)
);
CREATE UNIQUE INDEX consent_stances_latest ON consent_stances (round_id, member_id) WHERE latest;

-- Who has read which adopted version of an agreement.
CREATE TABLE agreement_acks (
    agreement_id uuid NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, member_id, version)
);

-- A circle's agenda template: its rounds, each with a prompt and minutes. Circles without
-- a row use their kind's default (restorative circles run talking-piece rounds by default).
CREATE TABLE circle_agendas (
    circle_id  uuid PRIMARY KEY REFERENCES circles (id) ON DELETE CASCADE,
    enabled    boolean NOT NULL,
    rounds     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A session's agenda as frozen two hours before it starts: the rounds with their speaking
-- order and time boxes, the first speaker (the next session rotates from it) and the seed.
CREATE TABLE session_agendas (
    session_id    uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    circle_id     uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    rounds        jsonb NOT NULL,
    first_speaker uuid REFERENCES members (id) ON DELETE SET NULL,
    seed          bigint NOT NULL,
    frozen_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_agendas_circle ON session_agendas (circle_id);
