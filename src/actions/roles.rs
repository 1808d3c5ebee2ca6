//! The roles a circle's sessions need, and members' rotation preferences: changing either
//! re-plans a rotating circle in the same transaction, so the rota never shows a holder the
//! new rules would not pick. The bodies the API and the dashboard fill (`domain::roles`)
//! become a role's input or changes here.

use chrono::{NaiveDate, Utc};
use diesel_async::AsyncConnection;

use super::rota;
use crate::db::circles::Circle;
use crate::db::roles::{self, NewRoleKind, RoleKind, RoleKindChanges, RotationPrefs, FACILITATOR};
use crate::db::{memberships, Connection};
use crate::domain::roles::{
    guide, key, key_from_name, min_attended, name, slots, RoleCreate, RolePatch,
};
use crate::domain::{Invalid, MemberId, MembershipState, Problems};
use crate::error::{AppError, AppResult};

pub use crate::domain::roles::RoleInput;

pub async fn add(conn: &mut Connection, circle: &Circle, input: RoleInput) -> AppResult<RoleKind> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let position = roles::next_position(conn, circle.id).await?;
        let kind = roles::add_kind(
            conn,
            &NewRoleKind {
                circle_id: circle.id,
                key: input.key.clone(),
                name: input.name,
                guide: input.guide,
                slots: input.slots,
                rotates: input.rotates,
                min_attended: input.min_attended,
                position,
            },
        )
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "this circle already has a role with the key `{}`",
                input.key
            ))
        })?;
        rota::plan_in(conn, circle, Utc::now()).await?;
        Ok(kind)
    })
    .await
}

/// What adding the suggested roles does: the roles added, and who is asked at once by
/// email (by name).
#[derive(Debug, Clone)]
pub struct Suggested {
    pub added: Vec<RoleKind>,
    pub asked: Vec<String>,
    /// People in the circle who can take roles, which sized the suggestion.
    pub size: usize,
}

/// Adding the suggested roles, tried and rolled back (to say what it would do) or kept.
enum Trial {
    Rolled(Suggested),
    Failed(AppError),
}

impl From<diesel::result::Error> for Trial {
    fn from(e: diesel::result::Error) -> Self {
        Trial::Failed(e.into())
    }
}

impl From<AppError> for Trial {
    fn from(e: AppError) -> Self {
        Trial::Failed(e)
    }
}

/// Add the circle kind's suggested roles it does not have yet, as many as leave a third of
/// the people who take part without a role each session (`domain::roles::suggested_for`).
/// With `keep` false nothing changes: the answer says what adding them would do (which
/// roles, and whom the re-plan would ask at once), for the page that asks first.
pub async fn add_suggested(
    conn: &mut Connection,
    circle: &Circle,
    keep: bool,
) -> AppResult<Suggested> {
    let tried = conn
        .transaction::<_, Trial, _>(async |conn| {
            let now = Utc::now();
            let kinds = roles::kinds(conn, circle.id).await?;
            let size = roles::planner_members(conn, circle.id, now)
                .await?
                .iter()
                .filter(|m| m.opted_in)
                .count();
            let have: Vec<&str> = kinds.iter().map(|k| k.key.as_str()).collect();
            let taken = kinds.iter().map(|k| k.slots.max(0) as usize).sum();
            let mut added = Vec::new();
            for (key, name, guide) in
                crate::domain::roles::suggested_for(circle.kind, size, taken, &have)
            {
                let position = roles::next_position(conn, circle.id).await?;
                if let Some(kind) = roles::add_kind(
                    conn,
                    &NewRoleKind {
                        circle_id: circle.id,
                        key: key.into(),
                        name: name.into(),
                        guide: guide.into(),
                        slots: 1,
                        rotates: true,
                        min_attended: crate::domain::roles::default_min_attended(true),
                        position,
                    },
                )
                .await?
                {
                    added.push(kind);
                }
            }
            rota::plan_in(conn, circle, now).await?;
            let asked = roles::asked_at(conn, circle.id, now).await?;
            let outcome = Suggested { added, asked, size };
            if keep {
                Ok(outcome)
            } else {
                Err(Trial::Rolled(outcome))
            }
        })
        .await;
    match tried {
        Ok(done) | Err(Trial::Rolled(done)) => Ok(done),
        Err(Trial::Failed(e)) => Err(e),
    }
}

pub async fn update(
    conn: &mut Connection,
    circle: &Circle,
    key: &str,
    changes: RoleKindChanges,
) -> AppResult<RoleKind> {
    if key == FACILITATOR && changes.slots.is_some_and(|s| s != 1) {
        return Err(AppError::invalid(
            "slots",
            "the facilitator role has one slot: it is the session's facilitator",
        ));
    }
    let nothing = changes.name.is_none()
        && changes.guide.is_none()
        && changes.slots.is_none()
        && changes.rotates.is_none()
        && changes.min_attended.is_none();
    if nothing {
        return roles::kind(conn, circle.id, key)
            .await?
            .ok_or(AppError::NotFound("role"));
    }
    conn.transaction::<_, AppError, _>(async |conn| {
        let now = Utc::now();
        let kind = roles::update_kind(conn, circle.id, key, changes)
            .await?
            .ok_or(AppError::NotFound("role"))?;
        roles::trim_slots(conn, circle.id, key, kind.slots, now).await?;
        rota::plan_in(conn, circle, now).await?;
        Ok(kind)
    })
    .await
}

pub async fn remove(conn: &mut Connection, circle: &Circle, key: &str) -> AppResult<()> {
    if key == FACILITATOR {
        return Err(AppError::Conflict(
            "the facilitator role cannot be removed: every session has one".into(),
        ));
    }
    conn.transaction::<_, AppError, _>(async |conn| {
        if !roles::delete_kind(conn, circle.id, key).await? {
            return Err(AppError::NotFound("role"));
        }
        rota::plan_in(conn, circle, Utc::now()).await?;
        Ok(())
    })
    .await
}

/// A change to someone's rotation preferences; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct PrefsChange {
    pub opted_in: Option<bool>,
    pub weight: Option<i32>,
    pub paused_until: Option<Option<NaiveDate>>,
    pub opted_out_roles: Option<Vec<String>>,
}

pub async fn set_prefs(
    conn: &mut Connection,
    circle: &Circle,
    member: MemberId,
    change: PrefsChange,
) -> AppResult<RotationPrefs> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let membership = memberships::find(conn, circle.id, member)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if membership.state == MembershipState::Left {
            return Err(AppError::Conflict("this person has left the circle".into()));
        }
        if let Some(keys) = &change.opted_out_roles {
            let known: Vec<String> = roles::kinds(conn, circle.id)
                .await?
                .into_iter()
                .map(|k| k.key)
                .collect();
            if let Some(unknown) = keys.iter().find(|k| !known.contains(k)) {
                return Err(AppError::invalid(
                    "rotation.opted_out_roles",
                    format!("`{unknown}` is not a role of this circle"),
                ));
            }
        }
        let mut prefs = roles::prefs(conn, circle.id, member).await?;
        if let Some(v) = change.opted_in {
            prefs.opted_in = v;
        }
        if let Some(v) = change.weight {
            prefs.weight = v;
        }
        if let Some(v) = change.paused_until {
            if let Some(date) = v {
                crate::domain::clock::date_in_range("rotation.paused_until", date)?;
            }
            prefs.paused_until = v;
        }
        if let Some(mut v) = change.opted_out_roles {
            v.sort();
            v.dedup();
            prefs.opted_out_roles = v;
        }
        let saved = roles::set_prefs(conn, &prefs).await?;
        rota::plan_in(conn, circle, Utc::now()).await?;
        Ok(saved)
    })
    .await
}

fn first_problem(mut problems: Vec<Invalid>) -> AppError {
    problems.remove(0).into()
}

impl RoleCreate {
    pub fn parse(self) -> Result<RoleInput, AppError> {
        let mut p = Problems::default();
        let name = p.check(name(&self.name));
        let key = match &self.key {
            Some(k) => p.check(key(k)),
            None => name.as_deref().map(key_from_name),
        };
        let guide = p.check(guide(self.guide.as_deref().unwrap_or("")));
        let slots = p.check(slots(self.slots.unwrap_or(1)));
        let rotates = self.rotates.unwrap_or(true);
        // A role that rotates waits until someone has come once; one that doesn't is given.
        let min = p.check(min_attended(self.min_attended.unwrap_or(i64::from(
            crate::domain::roles::default_min_attended(rotates),
        ))));
        let (Some(name), Some(key), Some(guide), Some(slots), Some(min_attended)) =
            (name, key, guide, slots, min)
        else {
            return Err(first_problem(p.0));
        };
        if key == FACILITATOR {
            return Err(AppError::Conflict(
                "every circle already has the facilitator role; change it with PATCH".into(),
            ));
        }
        Ok(RoleInput {
            key,
            name,
            guide,
            slots,
            rotates,
            min_attended,
        })
    }
}

impl RolePatch {
    pub fn parse(self) -> Result<RoleKindChanges, AppError> {
        let mut p = Problems::default();
        let changes = RoleKindChanges {
            name: p
                .check(self.name.as_deref().map(name).transpose())
                .flatten(),
            guide: p
                .check(self.guide.as_deref().map(guide).transpose())
                .flatten(),
            slots: p.check(self.slots.map(slots).transpose()).flatten(),
            rotates: self.rotates,
            min_attended: p
                .check(self.min_attended.map(min_attended).transpose())
                .flatten(),
        };
        if p.0.is_empty() {
            Ok(changes)
        } else {
            Err(first_problem(p.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MembershipRole, RoleState};
    use crate::email::MessageKind;
    use crate::testkit as kit;

    fn timekeeper() -> RoleInput {
        RoleInput {
            key: "timekeeper".into(),
            name: "Timekeeper".into(),
            guide: "Keep an eye on the clock.".into(),
            slots: 1,
            rotates: true,
            min_attended: 0,
        }
    }

    #[tokio::test]
    async fn a_new_role_in_a_rotating_circle_gets_holders_at_once() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().rotating().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let session = kit::session().in_days(3).create(conn, &circle).await;

        let kind = add(conn, &circle, timekeeper()).await.unwrap();

        assert_eq!(kind.key, "timekeeper");
        let rows = roles::for_sessions(conn, &[session.id]).await.unwrap();
        let held = rows.iter().find(|r| r.role_key == "timekeeper").unwrap();
        let lead = rows.iter().find(|r| r.role_key == FACILITATOR).unwrap();
        // Inside the asking window, so asked at once; one person, one role per session.
        assert_eq!(
            (held.state, lead.state),
            (RoleState::Asked, RoleState::Asked)
        );
        let mut holders = vec![held.member_id.unwrap(), lead.member_id.unwrap()];
        holders.sort();
        let mut everyone = vec![ada.id, bo.id];
        everyone.sort();
        assert_eq!(holders, everyone);
        assert_eq!(kit::emailed(conn, MessageKind::RoleAsk).await.len(), 2);

        let twice = add(conn, &circle, timekeeper()).await;
        assert!(matches!(twice, Err(AppError::Conflict(_))));
    }

    #[tokio::test]
    async fn the_facilitator_role_keeps_its_one_slot_and_stays() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let two = RoleKindChanges {
            slots: Some(2),
            ..Default::default()
        };

        let widened = update(conn, &circle, FACILITATOR, two).await;
        let removed = remove(conn, &circle, FACILITATOR).await;
        let unknown = remove(conn, &circle, "scribe").await;

        assert!(matches!(widened, Err(AppError::Invalid { ref field, .. }) if field == "slots"));
        assert!(matches!(removed, Err(AppError::Conflict(_))));
        assert!(matches!(unknown, Err(AppError::NotFound("role"))));
        let kind = roles::kind(conn, circle.id, FACILITATOR)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kind.slots, 1);
    }

    #[tokio::test]
    async fn fewer_slots_drop_the_holders_of_the_slots_that_go() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let mut two = timekeeper();
        two.slots = 2;
        add(conn, &circle, two).await.unwrap();
        let session = kit::session().create(conn, &circle).await;
        let confirmed = RoleState::Confirmed;
        kit::nth_slot(conn, &session, "timekeeper", 1, Some(ada.id), confirmed).await;
        kit::nth_slot(conn, &session, "timekeeper", 2, Some(bo.id), confirmed).await;
        let one = RoleKindChanges {
            slots: Some(1),
            ..Default::default()
        };

        let kind = update(conn, &circle, "timekeeper", one).await.unwrap();

        assert_eq!(kind.slots, 1);
        let rows = roles::for_sessions(conn, &[session.id]).await.unwrap();
        let kept: Vec<_> = rows.iter().map(|r| (r.slot, r.member_id)).collect();
        assert_eq!(kept, [(1, Some(ada.id))]);
    }

    #[tokio::test]
    async fn preferences_name_only_the_circle_s_roles_and_only_for_its_members() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        add(conn, &circle, timekeeper()).await.unwrap();
        let ada = kit::seated(conn, &circle, "Ada").await;
        let bo = kit::seated(conn, &circle, "Bo").await;
        let left = MembershipState::Left;
        kit::join(conn, &circle, bo.id, MembershipRole::Member, left).await;
        let opt_out = |keys: &[&str]| PrefsChange {
            opted_out_roles: Some(keys.iter().map(|k| k.to_string()).collect()),
            ..Default::default()
        };

        let unknown = set_prefs(conn, &circle, ada.id, opt_out(&["scribe"])).await;
        let gone = set_prefs(conn, &circle, bo.id, opt_out(&["timekeeper"])).await;
        let saved = set_prefs(
            conn,
            &circle,
            ada.id,
            opt_out(&["timekeeper", "timekeeper"]),
        )
        .await
        .unwrap();

        assert!(matches!(unknown, Err(AppError::Invalid { .. })));
        assert!(matches!(gone, Err(AppError::Conflict(_))));
        assert_eq!(saved.opted_out_roles, ["timekeeper"]);
        let stored = roles::prefs(conn, circle.id, ada.id).await.unwrap();
        assert_eq!(stored.opted_out_roles, ["timekeeper"]);
        assert!(stored.opted_in);
    }
}
