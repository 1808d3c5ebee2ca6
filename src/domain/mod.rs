//! Pure types and rules: once a value has one of these types it is valid. No I/O here.

pub mod agenda;
pub mod agreements;
pub mod circles;
pub mod clock;
mod email;
pub mod feedback;
pub mod growing;
mod ids;
mod names;
pub mod reading_plan;
pub mod readings;
pub mod roles;
pub mod rota;
pub mod schedule;
pub mod session_edit;
pub mod spread;
mod states;
pub mod text;
pub mod timezone;
pub mod tokens;

pub use clock::{hhmm, parse_hhmm};
pub use email::EmailAddress;
pub use ids::{
    AgreementId, CircleId, FeedbackRequestId, HandoffId, JobId, MemberId, ProposalId, ReadingId,
    ReflectionId, RoleId, RoundId, ScheduleId, SessionId, SwapId, TokenId,
};
pub use names::{Capacity, CircleName, DisplayName, Slug, MAX_SLUG_LEN};
pub use session_edit::SessionEdit;
pub use states::{
    AgendaStep, AgreementStatus, CircleKind, CircleStatus, Facilitation, FeedbackMode,
    HandoffVisibility, JobState, MembershipRole, MembershipState, ProposalStart, ProposalState,
    ReflectionVisibility, RoleSource, RoleState, RoundKind, RoundOutcome, RsvpResponse,
    SessionStatus, Stance, Visibility,
};
pub use timezone::Timezone;

/// Why a value was refused, and which input field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Every problem found while parsing one input, so a form can list them all at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Invalid>);

impl Problems {
    /// The value, or `None` with its problem noted.
    pub fn check<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
}

/// For PATCH bodies: a present `null` is `Some(None)`, an absent field is `None`.
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
