//! The enumerations of the data model. Each is stored as checked text; the spellings here
//! and in the migrations' CHECK constraints agree.

use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use std::io::Write;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            Serialize, Deserialize, AsExpression, FromSqlRow, utoipa::ToSchema,
        )]
        #[diesel(sql_type = Text)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parse from the stored or submitted spelling, naming `field` when it is not one.
            pub fn parse(s: &str, field: &'static str) -> Result<Self, super::Invalid> {
                s.parse().map_err(|_| super::Invalid::new(
                    field,
                    format!("must be one of: {}", [$($text),+].join(", ")),
                ))
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(()) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
                out.write_all(self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = std::str::from_utf8(bytes.as_bytes())?;
                s.parse().map_err(|_| format!("unexpected {} value {s:?}", stringify!($name)).into())
            }
        }
    };
}

text_enum!(
    /// What a circle does together; it shapes the reflection prompts.
    CircleKind { BookClub => "book_club", LearningCircle => "learning_circle", RestorativeCircle => "restorative_circle" }
);
text_enum!(
    /// Whether anyone may sign up, or only people added by a facilitator.
    Visibility { Open => "open", InviteOnly => "invite_only" }
);
text_enum!(
    CircleStatus { Draft => "draft", Open => "open", Closed => "closed", Archived => "archived" }
);
text_enum!(
    /// Fixed: the facilitators lead every session. Rotating: each session may be led by a member.
    Facilitation { Fixed => "fixed", Rotating => "rotating" }
);
text_enum!(MembershipRole { Facilitator => "facilitator", Member => "member" });
text_enum!(
    MembershipState { Pending => "pending", Active => "active", Waitlisted => "waitlisted", Left => "left" }
);
text_enum!(SessionStatus { Scheduled => "scheduled", Cancelled => "cancelled", Completed => "completed" });
text_enum!(RsvpResponse { Yes => "yes", No => "no", Maybe => "maybe" });
text_enum!(ReflectionVisibility { Private => "private", Circle => "circle" });
text_enum!(
    /// Where a session's role slot stands: planned, emailed, accepted, turned down, or empty.
    RoleState { Proposed => "proposed", Asked => "asked", Confirmed => "confirmed", Declined => "declined", Open => "open" }
);
text_enum!(
    /// How a holder came to hold a role.
    RoleSource { Rotation => "rotation", Organiser => "organiser", Swap => "swap" }
);
text_enum!(
    /// Who may read a handoff note: the next lead only, every role holder of the next session,
    /// or the whole circle.
    HandoffVisibility { NextLead => "next_lead", RoleHolders => "role_holders", Circle => "circle" }
);
text_enum!(
    /// What a role holder asked for when accepting: feedback kept anonymous, with the names of
    /// who gave it, or none.
    FeedbackMode { Anonymous => "anonymous", Named => "named", Off => "none" }
);
text_enum!(
    /// A member's answer in a consent round.
    Stance { Consent => "consent", Concern => "concern", Objection => "objection", StandAside => "stand_aside" }
);
text_enum!(
    /// Where an agreement stands: being decided, being revised after an objection, the circle's,
    /// not adopted (a round closed without enough answers), or no longer in use.
    AgreementStatus { InRound => "in_round", Integrating => "integrating", Adopted => "adopted", NotAdopted => "not_adopted", Retired => "retired" }
);
text_enum!(
    /// Why a consent round was opened: a new text or change, a revision after an objection,
    /// or a review the agreement's cadence asked for.
    RoundKind { Proposal => "proposal", Integration => "integration", Review => "review" }
);
text_enum!(
    /// How a consent round closed.
    RoundOutcome { Adopted => "adopted", Objected => "objected", NoQuorum => "no_quorum" }
);
text_enum!(
    /// A step of a session's agenda.
    AgendaStep { CheckIn => "check_in", Reading => "reading", Open => "open", Consent => "consent", CheckOut => "check_out" }
);
text_enum!(
    /// Where a proposed sibling circle stands: asking someone to lead it, created, nobody
    /// took it on, or called off by an organiser.
    ProposalState { Asking => "asking", Accepted => "accepted", Unled => "unled", Withdrawn => "withdrawn" }
);
text_enum!(
    /// How a sibling proposal began: the waitlist reached the circle's threshold, or an
    /// organiser started it.
    ProposalStart { Threshold => "threshold", Organiser => "organiser" }
);
text_enum!(JobState { Queued => "queued", Running => "running", Done => "done", Dead => "dead" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips() {
        for kind in CircleKind::ALL {
            assert_eq!(CircleKind::parse(kind.as_str(), "kind"), Ok(*kind));
        }
        for r in RsvpResponse::ALL {
            let json = serde_json::to_string(r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<RsvpResponse>(&json).unwrap(), *r);
        }
    }

    #[test]
    fn unknown_spelling_lists_the_choices() {
        let err = RsvpResponse::parse("perhaps", "response").unwrap_err();
        assert_eq!(err.field, "response");
        assert_eq!(err.message, "must be one of: yes, no, maybe");
    }
}
