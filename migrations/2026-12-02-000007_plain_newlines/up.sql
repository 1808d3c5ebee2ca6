-- Text typed into forms keeps LF line breaks only (browsers submit CRLF); earlier rows are
-- brought into line once here, and the application normalises new text as it arrives.
UPDATE circles SET description = replace(replace(description, E'\r\n', E'\n'), E'\r', E'\n') WHERE description LIKE E'%\r%';
UPDATE reflections SET body = replace(replace(body, E'\r\n', E'\n'), E'\r', E'\n') WHERE body LIKE E'%\r%';
UPDATE sessions SET prompts = replace(replace(prompts, E'\r\n', E'\n'), E'\r', E'\n') WHERE prompts LIKE E'%\r%';
UPDATE readings SET notes = replace(replace(notes, E'\r\n', E'\n'), E'\r', E'\n') WHERE notes LIKE E'%\r%';
