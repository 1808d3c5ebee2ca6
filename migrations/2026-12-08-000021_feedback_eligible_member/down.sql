DROP INDEX feedback_eligible_member;
