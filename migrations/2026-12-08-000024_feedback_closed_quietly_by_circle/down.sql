DROP INDEX feedback_requests_quiet;
