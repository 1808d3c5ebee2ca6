//! Bearer-token callers of the JSON API and what they may see: organisers see every
//! circle, facilitators only the circles they facilitate. Anything else reads as 404.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use crate::db::circles::Circle;
use crate::db::sessions::{self, Session};
use crate::db::{self, Connection};
use crate::domain::{CircleId, MemberId, SessionId};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::secrets::hash_token;

#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub member_id: MemberId,
    pub organiser: bool,
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let token = token
                .filter(|t| !t.is_empty())
                .ok_or(AppError::Unauthorized)?;
            let mut conn = state.pool.get().await?;
            let owner = db::api_tokens::owner_of(&mut conn, &hash_token(&token))
                .await?
                .ok_or(AppError::Unauthorized)?;
            Ok(Caller {
                member_id: owner.member_id,
                organiser: owner.organiser,
            })
        })
    }
}

impl Caller {
    pub fn require_organiser(&self) -> AppResult<()> {
        if self.organiser {
            Ok(())
        } else {
            Err(AppError::Forbidden("only organisers may do this".into()))
        }
    }

    /// The circles list filter: none for organisers, the caller for facilitators.
    pub fn circle_filter(&self) -> Option<MemberId> {
        (!self.organiser).then_some(self.member_id)
    }

    /// A circle the caller may run.
    pub async fn circle(&self, conn: &mut Connection, id: CircleId) -> AppResult<Circle> {
        self.runner()
            .circle(conn, id)
            .await?
            .ok_or(AppError::NotFound("circle"))
    }

    fn runner(&self) -> crate::http::access::Runner {
        crate::http::access::Runner {
            member: self.member_id,
            organiser: self.organiser,
        }
    }

    /// A session of a circle the caller may run.
    pub async fn session(&self, conn: &mut Connection, id: SessionId) -> AppResult<Session> {
        let session = sessions::find(conn, id)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        self.check_circle(conn, session.circle_id)
            .await
            .map_err(|_| AppError::NotFound("session"))?;
        Ok(session)
    }

    /// A circle the caller runs or is an active member of (what members may read: its rota
    /// and its ledger).
    pub async fn circle_as_member(&self, conn: &mut Connection, id: CircleId) -> AppResult<Circle> {
        let circle = db::circles::find(conn, id)
            .await?
            .ok_or(AppError::NotFound("circle"))?;
        if self.runner().may_run(conn, id).await? {
            return Ok(circle);
        }
        let active = db::memberships::find(conn, id, self.member_id)
            .await?
            .is_some_and(|m| m.state == crate::domain::MembershipState::Active);
        if active {
            Ok(circle)
        } else {
            Err(AppError::NotFound("circle"))
        }
    }

    pub async fn check_circle(&self, conn: &mut Connection, id: CircleId) -> AppResult<()> {
        if self.runner().may_run(conn, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("circle"))
        }
    }
}

/// A caller who must be an organiser; refused (403) before the request body is even read.
#[derive(Debug, Clone, Copy)]
pub struct Organiser(pub Caller);

impl FromRequest for Organiser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            caller.require_organiser()?;
            Ok(Organiser(caller))
        })
    }
}
