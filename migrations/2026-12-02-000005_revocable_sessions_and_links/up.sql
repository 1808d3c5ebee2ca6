-- Dashboard sign-ins. The encrypted session cookie names one of these rows, and a request is
-- accepted only while that row has not ended and is younger than its absolute limit: signing
-- out (here or everywhere) and losing staff rights end even a copied cookie.
CREATE TABLE staff_sessions (
    id         uuid PRIMARY KEY,
    member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX staff_sessions_member_idx ON staff_sessions (member_id) WHERE ended_at IS NULL;

-- Personal-page links and the calendar feed each carry a version of their own: mailing a new
-- personal link retires the older ones without breaking subscribed calendars, and a member
-- can reset their feed's address alone.
ALTER TABLE members
    ADD COLUMN me_token_version integer NOT NULL DEFAULT 1 CHECK (me_token_version > 0),
    ADD COLUMN calendar_token_version integer NOT NULL DEFAULT 1 CHECK (calendar_token_version > 0);
