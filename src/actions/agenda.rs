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
