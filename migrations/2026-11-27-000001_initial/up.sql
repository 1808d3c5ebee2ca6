-- Roundtable's data model. Enumerations are checked text so that Rust enums and the
-- database agree on spelling; every check below has a twin in src/domain.

CREATE TABLE members (
    id                uuid PRIMARY KEY,
    email             text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
    display_name      text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 100),
    timezone          text,
    organizer         boolean NOT NULL DEFAULT false,
    email_verified_at timestamptz,
    unsubscribed_at   timestamptz,
    reminders_enabled boolean NOT NULL DEFAULT true,
    reflection_prompts_enabled boolean NOT NULL DEFAULT true,
    -- Bumping this revokes every long-lived link (feed, unsubscribe) issued to the member.
    token_version     integer NOT NULL DEFAULT 1 CHECK (token_version > 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX members_email_key ON members (lower(email));

CREATE TABLE circles (
    id                       uuid PRIMARY KEY,
    slug                     text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 60),
    name                     text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    description              text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    kind                     text NOT NULL DEFAULT 'book_club'
                             CHECK (kind IN ('book_club', 'learning_circle', 'restorative_circle')),
    visibility               text NOT NULL DEFAULT 'open' CHECK (visibility IN ('open', 'invite_only')),
    capacity                 integer CHECK (capacity > 0),
    timezone                 text NOT NULL,
    location                 text CHECK (length(location) <= 500),
    status                   text NOT NULL DEFAULT 'open' CHECK (status IN ('draft', 'open', 'closed', 'archived')),
    facilitation             text NOT NULL DEFAULT 'fixed' CHECK (facilitation IN ('fixed', 'rotating')),
    reminder_offset_minutes  integer NOT NULL DEFAULT 1440 CHECK (reminder_offset_minutes BETWEEN 0 AND 20160),
    reflection_delay_minutes integer NOT NULL DEFAULT 60 CHECK (reflection_delay_minutes BETWEEN 0 AND 20160),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX circles_status_idx ON circles (status);

CREATE TABLE memberships (
    circle_id        uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    member_id        uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    role             text NOT NULL DEFAULT 'member' CHECK (role IN ('facilitator', 'member')),
    state            text NOT NULL CHECK (state IN ('pending', 'active', 'waitlisted', 'left')),
    waitlist_position integer CHECK (waitlist_position > 0),
    joined_at        timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (circle_id, member_id),
    CHECK ((state = 'waitlisted') = (waitlist_position IS NOT NULL)),
    -- Deferred so that closing a gap in the waitlist can shift positions in one statement.
    CONSTRAINT memberships_waitlist_position_key UNIQUE (circle_id, waitlist_position) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX memberships_member_idx ON memberships (member_id);

CREATE TABLE readings (
    id         uuid PRIMARY KEY,
    circle_id  uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    title      text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    author     text CHECK (length(author) <= 300),
    url        text CHECK (length(url) <= 2000),
    isbn       text CHECK (length(isbn) <= 20),
    notes      text CHECK (length(notes) <= 10000),
    position   integer NOT NULL CHECK (position > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, circle_id)
);
CREATE INDEX readings_circle_idx ON readings (circle_id, position);

CREATE TABLE schedules (
    id               uuid PRIMARY KEY,
    circle_id        uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    freq             text NOT NULL CHECK (freq IN ('weekly', 'monthly')),
    interval_weeks   integer NOT NULL DEFAULT 1 CHECK (interval_weeks BETWEEN 1 AND 52),
    week_of_month    integer CHECK (week_of_month IN (1, 2, 3, 4, -1)),
    weekday          integer CHECK (weekday BETWEEN 1 AND 7),
    first_date       date NOT NULL,
    local_time       time NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    count            integer CHECK (count > 0),
    until            date,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((count IS NULL) <> (until IS NULL)),
    CHECK ((freq = 'monthly') = (week_of_month IS NOT NULL AND weekday IS NOT NULL))
);

CREATE TABLE sessions (
    id               uuid PRIMARY KEY,
    circle_id        uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    schedule_id      uuid REFERENCES schedules (id) ON DELETE SET NULL,
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    local_date       date NOT NULL,
    local_time       time NOT NULL,
    timezone         text NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    location         text CHECK (length(location) <= 500),
    reading_id       uuid,
    facilitator_id   uuid REFERENCES members (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled', 'completed')),
    ics_sequence     integer NOT NULL DEFAULT 0 CHECK (ics_sequence >= 0),
    prompts          text CHECK (length(prompts) <= 5000),
    -- Ids are time-ordered (UUIDv7), so they also say when a session was created.
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    -- A session can only point at a reading of its own circle.
    FOREIGN KEY (reading_id, circle_id) REFERENCES readings (id, circle_id) ON DELETE SET NULL (reading_id)
);
CREATE INDEX sessions_circle_starts_idx ON sessions (circle_id, starts_at, id);
CREATE INDEX sessions_starts_idx ON sessions (starts_at) WHERE status = 'scheduled';

CREATE TABLE rsvps (
    session_id   uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    response     text CHECK (response IN ('yes', 'no', 'maybe')),
    responded_at timestamptz,
    attended     boolean,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, member_id),
    CHECK ((response IS NULL) = (responded_at IS NULL))
);
CREATE INDEX rsvps_member_idx ON rsvps (member_id);

CREATE TABLE reflections (
    id         uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    body       text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 10000),
    visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'circle')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, member_id)
);
CREATE INDEX reflections_member_idx ON reflections (member_id);

CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key   text,
    run_at       timestamptz NOT NULL DEFAULT now(),
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
-- The same message is never queued twice while an earlier copy is still pending.
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_state_idx ON jobs (state, id);

CREATE TABLE deliveries (
    id         uuid PRIMARY KEY,
    job_id     uuid REFERENCES jobs (id) ON DELETE SET NULL,
    member_id  uuid REFERENCES members (id) ON DELETE SET NULL,
    circle_id  uuid REFERENCES circles (id) ON DELETE SET NULL,
    recipient  text,
    kind       text NOT NULL,
    message_id text NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_member_idx ON deliveries (member_id);
CREATE INDEX deliveries_circle_idx ON deliveries (circle_id, sent_at);

-- Only hashes of secrets are stored: a leaked table grants nothing.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE facilitator_logins (
    id         uuid PRIMARY KEY,
    member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
