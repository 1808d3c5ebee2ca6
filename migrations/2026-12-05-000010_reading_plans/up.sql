-- Reading plans: a reading's chapters, and how its pages are split over the sessions that
-- read it. A segment of a session that has started is never rewritten.

ALTER TABLE readings
    ADD COLUMN chapters jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(chapters) = 'array');

CREATE TABLE reading_segments (
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    reading_id uuid NOT NULL REFERENCES readings (id) ON DELETE CASCADE,
    circle_id  uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    first_page integer NOT NULL CHECK (first_page >= 0),
    last_page  integer NOT NULL CHECK (last_page >= first_page),
    label      text NOT NULL CHECK (length(label) <= 300),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, reading_id)
);
CREATE INDEX reading_segments_reading ON reading_segments (reading_id, position);

-- The organisation's leadership figures read every session in a window, whatever its status.
CREATE INDEX sessions_starts_any ON sessions (starts_at);
