//! Saving a circle's talking-piece agenda template: the API and the dashboard's rota page.

use diesel_async::AsyncPgConnection;

use crate::db::agendas;
use crate::domain::agenda::{self as rules, Template, TemplateRound};
use crate::domain::{CircleId, Invalid};
use crate::error::{AppError, AppResult};

/// Check `rounds` and save them as the circle's template. A round that breaks a rule is
/// returned as `Ok(Err(..))` and nothing is saved, so each front end words it its own way.
pub async fn save_template(
    conn: &mut AsyncPgConnection,
    circle: CircleId,
    enabled: bool,
    rounds: Vec<TemplateRound>,
) -> AppResult<Result<Template, Invalid>> {
    let rounds = match rules::check(rounds) {
        Ok(rounds) => rounds,
        Err(e) => return Ok(Err(e)),
    };
    let json = serde_json::to_value(&rounds).map_err(|e| AppError::Internal(e.into()))?;
    agendas::save_template(conn, circle, enabled, &json).await?;
    Ok(Ok(Template { enabled, rounds }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgendaStep;
    use crate::testkit as kit;

    fn round(kind: AgendaStep, prompt: &str, minutes: i32) -> TemplateRound {
        TemplateRound {
            kind,
            prompt: prompt.into(),
            minutes,
        }
    }

    #[tokio::test]
    async fn a_template_is_saved_as_checked() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let rounds = vec![
            round(AgendaStep::CheckIn, "  How are you arriving?\r\n", 10),
            round(AgendaStep::CheckOut, "What are you taking with you?", 5),
        ];

        let saved = save_template(conn, circle.id, true, rounds)
            .await
            .unwrap()
            .unwrap();

        assert_eq!(saved.rounds[0].prompt, "How are you arriving?");
        let (enabled, json) = agendas::template(conn, circle.id).await.unwrap().unwrap();
        assert!(enabled);
        let stored: Vec<TemplateRound> = serde_json::from_value(json).unwrap();
        assert_eq!(stored, saved.rounds);
    }

    #[tokio::test]
    async fn a_round_that_breaks_a_rule_saves_nothing() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let rounds = vec![
            round(AgendaStep::CheckIn, "How are you arriving?", 10),
            round(AgendaStep::Open, "Anything else?", 0),
        ];

        let refused = save_template(conn, circle.id, true, rounds).await.unwrap();

        assert_eq!(refused.unwrap_err().field, "minutes");
        assert!(agendas::template(conn, circle.id).await.unwrap().is_none());
    }
}
