DROP TABLE session_agendas;
DROP TABLE circle_agendas;
DROP TABLE agreement_acks;
DROP TABLE consent_stances;
DROP TABLE consent_rounds;
DROP TABLE agreement_versions;
DROP TABLE agreements;
DROP TABLE feedback_answers;
DROP FUNCTION feedback_answers_anonymous();
DROP TABLE feedback_receipts;
DROP TABLE feedback_requests;
DROP FUNCTION feedback_requests_keep_mode();
ALTER TABLE session_roles DROP COLUMN feedback;
ALTER TABLE circles
    DROP COLUMN feedback_min_answers,
    DROP COLUMN consent_quorum_percent,
    DROP COLUMN consent_round_days;
