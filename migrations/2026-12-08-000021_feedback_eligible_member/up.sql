-- A member's page lists the feedback they may still give: found from the member's side.
CREATE INDEX feedback_eligible_member ON feedback_eligible (member_id, request_id);
