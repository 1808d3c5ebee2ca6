//! Every message Roundtable sends: its subject, text and HTML parts rendered from
//! `templates/email/<name>.{txt,html}` around one base layout.

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::domain::CircleKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Confirmation,
    Welcome,
    Waitlisted,
    Promoted,
    Invitation,
    SessionUpdate,
    SessionCancelled,
    Reminder,
    ReflectionPrompt,
    FacilitatorDigest,
    LoginLink,
    PersonalLink,
    RoleAsk,
    RoleConfirmed,
    RoleNotice,
    SwapOffer,
    ConsentRound,
    ConsentReminder,
    ConsentOutcome,
    FeedbackClosed,
    FeedbackReported,
    GrowAsk,
    GrowMoved,
    GrowNotice,
    QuestionsAsk,
    WaitlistStanding,
}

impl MessageKind {
    pub const ALL: [MessageKind; 26] = [
        Self::Confirmation,
        Self::Welcome,
        Self::Waitlisted,
        Self::Promoted,
        Self::Invitation,
        Self::SessionUpdate,
        Self::SessionCancelled,
        Self::Reminder,
        Self::ReflectionPrompt,
        Self::FacilitatorDigest,
        Self::LoginLink,
        Self::PersonalLink,
        Self::RoleAsk,
        Self::RoleConfirmed,
        Self::RoleNotice,
        Self::SwapOffer,
        Self::ConsentRound,
        Self::ConsentReminder,
        Self::ConsentOutcome,
        Self::FeedbackClosed,
        Self::FeedbackReported,
        Self::GrowAsk,
        Self::GrowMoved,
        Self::GrowNotice,
        Self::QuestionsAsk,
        Self::WaitlistStanding,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::Welcome => "welcome",
            Self::Waitlisted => "waitlisted",
            Self::Promoted => "promoted",
            Self::Invitation => "invitation",
            Self::SessionUpdate => "session_update",
            Self::SessionCancelled => "session_cancelled",
            Self::Reminder => "reminder",
            Self::ReflectionPrompt => "reflection_prompt",
            Self::FacilitatorDigest => "facilitator_digest",
            Self::LoginLink => "login_link",
            Self::PersonalLink => "personal_link",
            Self::RoleAsk => "role_ask",
            Self::RoleConfirmed => "role_confirmed",
            Self::RoleNotice => "role_notice",
            Self::SwapOffer => "swap_offer",
            Self::ConsentRound => "consent_round",
            Self::ConsentReminder => "consent_reminder",
            Self::ConsentOutcome => "consent_outcome",
            Self::FeedbackClosed => "feedback_closed",
            Self::FeedbackReported => "feedback_reported",
            Self::GrowAsk => "grow_ask",
            Self::GrowMoved => "grow_moved",
            Self::GrowNotice => "grow_notice",
            Self::QuestionsAsk => "questions_ask",
            Self::WaitlistStanding => "waitlist_standing",
        }
    }

    /// Confirmation, sign-in and personal-page mail is sent even to people who unsubscribed,
    /// because they asked for it just now; it carries no unsubscribe header.
    pub fn is_transactional(self) -> bool {
        matches!(
            self,
            Self::Confirmation | Self::LoginLink | Self::PersonalLink
        )
    }

    /// Letters that go at once even right after another: replies to something the person did
    /// (confirming, asking for a link, joining), and a cancellation, which cannot wait.
    pub fn may_follow_closely(self) -> bool {
        matches!(
            self,
            Self::Confirmation
                | Self::LoginLink
                | Self::PersonalLink
                | Self::Welcome
                | Self::Waitlisted
                | Self::Promoted
                | Self::RoleConfirmed
                | Self::SessionCancelled
        )
    }

    /// Messages about one session (they name it and may carry a calendar part).
    pub fn is_about_a_session(self) -> bool {
        matches!(
            self,
            Self::Invitation
                | Self::SessionUpdate
                | Self::SessionCancelled
                | Self::Reminder
                | Self::ReflectionPrompt
                | Self::FacilitatorDigest
                | Self::RoleAsk
                | Self::RoleConfirmed
                | Self::RoleNotice
                | Self::SwapOffer
                | Self::QuestionsAsk
        )
    }

    /// Messages about a consent round on one of the circle's agreements.
    pub fn is_about_a_round(self) -> bool {
        matches!(
            self,
            Self::ConsentRound | Self::ConsentReminder | Self::ConsentOutcome
        )
    }

    /// Messages about one role slot of a session.
    pub fn is_about_a_role(self) -> bool {
        matches!(
            self,
            Self::RoleAsk
                | Self::RoleConfirmed
                | Self::RoleNotice
                | Self::SwapOffer
                | Self::QuestionsAsk
        )
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session as an email shows it, in the recipient's zone.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// e.g. "Thursday 4 March 2027, 19:00–20:30 (Europe/London)".
    pub when: String,
    /// e.g. "Thursday 4 March": which session a message is about, in a few words.
    pub day: String,
    pub location: Option<String>,
    pub reading: Option<String>,
    pub facilitator: Option<String>,
    /// The session's other role holders: ("Note-taker", "Bo, Cy").
    pub roles: Vec<(String, String)>,
    /// Talking-piece rounds with their speaking order, one line each.
    pub agenda: Vec<String>,
    /// The discussion lead's questions, in the reminder and the facilitator's digest.
    pub questions: Option<QuestionsView>,
}

/// Questions a discussion lead brings: who, and the questions.
#[derive(Debug, Clone)]
pub struct QuestionsView {
    pub by: String,
    pub list: Vec<String>,
}

/// A role as its holder's email shows it.
#[derive(Debug, Clone)]
pub struct RoleView {
    pub name: String,
    /// "facilitate", "be the note-taker on": after "Would you".
    pub ask: String,
    /// "facilitating", "the note-taker on": after "You're".
    pub holding: String,
    pub guide: String,
    /// Why this person was asked, in plain words.
    pub why: String,
    /// What the previous lead left for this one.
    pub handoff: Option<HandoffView>,
    /// A discussion lead's ask: it also asks for their two or three questions, and says where
    /// they write them once they accept.
    pub brings_questions: bool,
}

/// A handoff note: who wrote it and its answers, (question, answer).
#[derive(Debug, Clone)]
pub struct HandoffView {
    pub author: String,
    pub parts: Vec<(String, String)>,
}

/// A notice to organisers or to someone offered a swap: subject and lines of text.
#[derive(Debug, Clone)]
pub struct NoticeView {
    pub subject: String,
    pub lines: Vec<String>,
    /// Words for the action link, when there is one.
    pub action: Option<String>,
}

/// A message that is mostly words: consent rounds and feedback. Its subject, paragraphs, a
/// quoted text (the agreement, an answer), and words for its action link.
#[derive(Debug, Clone)]
pub struct LetterView {
    pub subject: String,
    pub lines: Vec<String>,
    /// Paragraphs of quoted text, shown set apart.
    pub quote: Vec<String>,
    /// Lines after the quote (counts, reasons).
    pub after: Vec<String>,
    pub action: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RsvpLinks {
    pub yes: String,
    pub no: String,
    pub maybe: String,
}

/// Who answered what, for the facilitator's digest.
#[derive(Debug, Clone, Default)]
pub struct Digest {
    pub yes: Vec<String>,
    pub no: Vec<String>,
    pub maybe: Vec<String>,
    pub unanswered: Vec<String>,
}

/// Everything any message may show. Absent parts are simply not rendered.
#[derive(Debug, Clone)]
pub struct EmailContext {
    pub kind: MessageKind,
    pub recipient_name: String,
    pub circle_name: String,
    pub circle_url: String,
    pub session: Option<SessionView>,
    pub waitlist_position: Option<i32>,
    /// The message's main link: confirm, sign in, or reflect.
    pub action_url: Option<String>,
    pub rsvp: Option<RsvpLinks>,
    pub prompts: Vec<String>,
    pub digest: Option<Digest>,
    /// For welcome mail: the circle's coming sessions, in the recipient's zone.
    pub upcoming: Vec<String>,
    /// For welcome mail: how many days before each session its invitation arrives (0: all
    /// at once).
    pub invite_lead_days: i32,
    /// For welcome mail: the member's calendar feed, as https and as `webcal://`.
    pub calendar: Option<(String, String)>,
    pub manage_url: Option<String>,
    pub unsubscribe_url: Option<String>,
    /// For role mail: the role, its guide and why.
    pub role: Option<RoleView>,
    /// For notices and swap offers.
    pub notice: Option<NoticeView>,
    /// For the facilitator's reflection prompt: where to leave a handoff for the next lead.
    pub handoff_url: Option<String>,
    /// For the facilitator's reflection prompt: where to mark who came.
    pub attendance_url: Option<String>,
    /// For the timekeeper's reminder: their agenda page with a countdown.
    pub agenda_url: Option<String>,
    /// For consent-round and feedback messages.
    pub letter: Option<LetterView>,
    /// For the reflection prompt: feedback forms about whoever held a role, (words, link).
    pub feedback_links: Vec<(String, String)>,
    /// For welcome mail: the circle's adopted agreements, (title, text).
    pub agreements: Vec<(String, String)>,
    /// The next session's invitation when this letter carries it (a reflection prompt, a
    /// welcome, a seat that opened up): its lines and answers; its calendar entry is attached.
    pub next: Option<NextView>,
    /// Agreement letters that waited to ride with this one: each letter and its link.
    pub riders: Vec<(LetterView, String)>,
    /// Short news for the reader that waited for their next letter instead of coming alone
    /// (e.g. feedback that closed with too few answers to show).
    pub notes: Vec<String>,
    /// For a role ask: the reader's other turns asked at the same time, one answer each.
    pub also_asked: Vec<AlsoAsked>,
}

/// Another turn a role ask asks for in the same letter.
#[derive(Debug, Clone)]
pub struct AlsoAsked {
    pub role: RoleView,
    pub session: SessionView,
    /// The role page where the reader answers this turn.
    pub url: String,
}

/// The next session's invitation as part of another letter.
#[derive(Debug, Clone)]
pub struct NextView {
    pub session: SessionView,
    pub rsvp: RsvpLinks,
}

impl EmailContext {
    /// The heading of the invitation this letter carries: the next session after a
    /// reflection, or the first one in a welcome.
    pub fn next_heading(&self) -> String {
        match (&self.next, self.kind) {
            (Some(n), MessageKind::ReflectionPrompt) => format!(
                "Next: {} meets on {}, and you're invited.",
                self.circle_name, n.session.day
            ),
            (Some(n), _) => format!("Your first session is on {}.", n.session.day),
            (None, _) => String::new(),
        }
    }

    /// Whether the session runs talking-piece rounds: the agenda page counts down each
    /// speaker, else the whole session.
    pub fn has_rounds(&self) -> bool {
        self.session.as_ref().is_some_and(|s| !s.agenda.is_empty())
    }
}

/// A rendered message, ready for the mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

macro_rules! message_templates {
    ($($kind:ident => $text:ident($text_path:literal), $html:ident($html_path:literal);)*) => {
        $(
            #[derive(Template)]
            #[template(path = $text_path)]
            struct $text<'a> {
                c: &'a EmailContext,
            }

            #[derive(Template)]
            #[template(path = $html_path)]
            struct $html<'a> {
                c: &'a EmailContext,
            }
        )*

        fn render_parts(c: &EmailContext) -> askama::Result<(String, String)> {
            match c.kind {
                $(MessageKind::$kind => Ok(($text { c }.render()?, $html { c }.render()?)),)*
            }
        }
    };
}

message_templates! {
    Confirmation => ConfirmationText("email/confirmation.txt"), ConfirmationHtml("email/confirmation.html");
    Welcome => WelcomeText("email/welcome.txt"), WelcomeHtml("email/welcome.html");
    Waitlisted => WaitlistedText("email/waitlisted.txt"), WaitlistedHtml("email/waitlisted.html");
    Promoted => PromotedText("email/promoted.txt"), PromotedHtml("email/promoted.html");
    Invitation => InvitationText("email/invitation.txt"), InvitationHtml("email/invitation.html");
    SessionUpdate => SessionUpdateText("email/session_update.txt"), SessionUpdateHtml("email/session_update.html");
    SessionCancelled => SessionCancelledText("email/session_cancelled.txt"), SessionCancelledHtml("email/session_cancelled.html");
    Reminder => ReminderText("email/reminder.txt"), ReminderHtml("email/reminder.html");
    ReflectionPrompt => ReflectionPromptText("email/reflection_prompt.txt"), ReflectionPromptHtml("email/reflection_prompt.html");
    FacilitatorDigest => FacilitatorDigestText("email/facilitator_digest.txt"), FacilitatorDigestHtml("email/facilitator_digest.html");
    LoginLink => LoginLinkText("email/login_link.txt"), LoginLinkHtml("email/login_link.html");
    PersonalLink => PersonalLinkText("email/personal_link.txt"), PersonalLinkHtml("email/personal_link.html");
    RoleAsk => RoleAskText("email/role_ask.txt"), RoleAskHtml("email/role_ask.html");
    RoleConfirmed => RoleConfirmedText("email/role_confirmed.txt"), RoleConfirmedHtml("email/role_confirmed.html");
    RoleNotice => RoleNoticeText("email/role_notice.txt"), RoleNoticeHtml("email/role_notice.html");
    SwapOffer => SwapOfferText("email/swap_offer.txt"), SwapOfferHtml("email/swap_offer.html");
    ConsentRound => ConsentRoundText("email/letter.txt"), ConsentRoundHtml("email/letter.html");
    ConsentReminder => ConsentReminderText("email/letter.txt"), ConsentReminderHtml("email/letter.html");
    ConsentOutcome => ConsentOutcomeText("email/letter.txt"), ConsentOutcomeHtml("email/letter.html");
    FeedbackClosed => FeedbackClosedText("email/letter.txt"), FeedbackClosedHtml("email/letter.html");
    FeedbackReported => FeedbackReportedText("email/letter.txt"), FeedbackReportedHtml("email/letter.html");
    GrowAsk => GrowAskText("email/letter.txt"), GrowAskHtml("email/letter.html");
    GrowMoved => GrowMovedText("email/letter.txt"), GrowMovedHtml("email/letter.html");
    GrowNotice => GrowNoticeText("email/letter.txt"), GrowNoticeHtml("email/letter.html");
    QuestionsAsk => QuestionsAskText("email/questions_ask.txt"), QuestionsAskHtml("email/questions_ask.html");
    WaitlistStanding => WaitlistStandingText("email/letter.txt"), WaitlistStandingHtml("email/letter.html");
}

fn subject(c: &EmailContext) -> String {
    let circle = &c.circle_name;
    let when = c.session.as_ref().map(|s| s.when.as_str()).unwrap_or("");
    match c.kind {
        MessageKind::Confirmation => format!("Confirm your place in {circle}"),
        MessageKind::Welcome => format!("Welcome to {circle}"),
        MessageKind::Waitlisted => format!("You are on the waitlist for {circle}"),
        MessageKind::Promoted => format!("A seat opened up in {circle}"),
        MessageKind::Invitation => format!("Invitation: {circle}, {when}"),
        MessageKind::SessionUpdate => format!("Changed: {circle}, {when}"),
        MessageKind::SessionCancelled => format!("Cancelled: {circle}, {when}"),
        MessageKind::Reminder => format!("Reminder: {circle}, {when}"),
        MessageKind::ReflectionPrompt => match (c.session.as_ref(), c.next.as_ref()) {
            (Some(s), Some(n)) => format!(
                "How was {}? And your invitation for {} ({circle})",
                s.day, n.session.day
            ),
            (Some(s), None) => format!("How was {}? A moment to reflect ({circle})", s.day),
            _ => format!("How was {circle}? A moment to reflect"),
        },
        MessageKind::FacilitatorDigest => format!("Before your session: {circle}, {when}"),
        MessageKind::LoginLink => "Your Roundtable sign-in link".to_string(),
        MessageKind::PersonalLink => "Your Roundtable page".to_string(),
        MessageKind::RoleAsk => {
            let day = c.session.as_ref().map(|s| s.day.as_str()).unwrap_or("");
            let ask = c.role.as_ref().map(|r| r.ask.as_str()).unwrap_or("help");
            match c.also_asked.as_slice() {
                [] => format!("Would you {ask} {day}? ({circle})"),
                [a] => format!(
                    "Would you {ask} {day}, and {} {}? ({circle})",
                    a.role.ask, a.session.day
                ),
                more => format!(
                    "Would you {ask} {day}? And {} more turns ({circle})",
                    more.len()
                ),
            }
        }
        MessageKind::RoleConfirmed => {
            let day = c.session.as_ref().map(|s| s.day.as_str()).unwrap_or("");
            let holding = c
                .role
                .as_ref()
                .map(|r| r.holding.as_str())
                .unwrap_or("helping");
            format!("You're {holding} {day} ({circle})")
        }
        MessageKind::QuestionsAsk => {
            let day = c.session.as_ref().map(|s| s.day.as_str()).unwrap_or("");
            format!("Your questions for {day} ({circle})")
        }
        MessageKind::RoleNotice | MessageKind::SwapOffer => c
            .notice
            .as_ref()
            .map_or_else(|| circle.to_string(), |n| n.subject.clone()),
        MessageKind::ConsentRound
        | MessageKind::ConsentReminder
        | MessageKind::ConsentOutcome
        | MessageKind::FeedbackClosed
        | MessageKind::FeedbackReported
        | MessageKind::GrowAsk
        | MessageKind::GrowMoved
        | MessageKind::GrowNotice
        | MessageKind::WaitlistStanding => c
            .letter
            .as_ref()
            .map_or_else(|| circle.to_string(), |l| l.subject.clone()),
    }
}

pub fn render(c: &EmailContext) -> Result<Rendered, askama::Error> {
    let (text, html) = render_parts(c)?;
    let subject = match c.riders.first() {
        Some((rider, _)) => {
            let own = format!(" ({})", c.circle_name);
            let rider = rider.subject.strip_suffix(&own).unwrap_or(&rider.subject);
            format!("{}; and {rider}", subject(c))
        }
        None => subject(c),
    };
    Ok(Rendered {
        subject,
        text: tidy_text(&text),
        html,
    })
}

/// Collapse the blank-line runs that optional template parts leave behind.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_start_matches('\n').to_string()
}

/// Reflection questions that suit the circle, unless the session has its own (one per line).
pub fn prompts_for(kind: CircleKind, session_prompts: Option<&str>) -> Vec<String> {
    if let Some(custom) = session_prompts {
        let lines: Vec<String> = custom
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if !lines.is_empty() {
            return lines;
        }
    }
    let defaults: &[&str] = match kind {
        CircleKind::BookClub => &[
            "What from this reading stayed with you?",
            "Where did you disagree, with the author or with each other?",
            "What would you like the circle to explore next time?",
        ],
        CircleKind::LearningCircle => &[
            "What did you learn that you want to keep?",
            "What is still unclear, and who in the circle could help?",
            "What will you try before the next session?",
        ],
        CircleKind::RestorativeCircle => &[
            "What did you hear today that you want to honour?",
            "How are you leaving, compared with how you arrived?",
            "What do you need from the circle next time?",
        ],
    };
    defaults.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context with every part filled in, as the snapshots show each message.
    pub fn sample(kind: MessageKind) -> EmailContext {
        let base = "https://circles.example.org";
        let session = kind.is_about_a_session().then(|| SessionView {
            when: "Thursday 4 March 2027, 19:00–20:30 (Europe/London)".into(),
            day: "Thursday 4 March".into(),
            location: Some("Room 4 & the garden".into()),
            reading: Some("Braiding Sweetgrass, by Robin Wall Kimmerer".into()),
            facilitator: Some("Ada <Lovelace>".into()),
            roles: vec![("Note-taker".into(), "Bo".into())],
            agenda: if kind == MessageKind::Reminder {
                vec![
                    "Check-in (10 min, 2:30 each): Bo → Cy → Ada <Lovelace> → Grace".into(),
                    "Check-out (10 min, 2:30 each): Bo → Cy → Ada <Lovelace> → Grace".into(),
                ]
            } else {
                Vec::new()
            },
            questions: (kind == MessageKind::Reminder).then(|| QuestionsView {
                by: "Bo <the bold>".into(),
                list: vec![
                    "What does Kimmerer mean by a gift economy?".into(),
                    "Where have you seen reciprocity at work?".into(),
                ],
            }),
        });
        let rsvp = matches!(
            kind,
            MessageKind::Invitation
                | MessageKind::SessionUpdate
                | MessageKind::Reminder
                | MessageKind::FacilitatorDigest
        )
        .then(|| RsvpLinks {
            yes: format!("{base}/rsvp/TOKEN?response=yes"),
            no: format!("{base}/rsvp/TOKEN?response=no"),
            maybe: format!("{base}/rsvp/TOKEN?response=maybe"),
        });
        let action_url = match kind {
            MessageKind::Confirmation => Some(format!("{base}/confirm/TOKEN")),
            MessageKind::LoginLink => Some(format!("{base}/login/TOKEN")),
            MessageKind::PersonalLink => Some(format!("{base}/me/TOKEN")),
            MessageKind::ReflectionPrompt => Some(format!("{base}/reflect/TOKEN")),
            MessageKind::RoleAsk | MessageKind::RoleConfirmed | MessageKind::RoleNotice => {
                Some(format!("{base}/role/TOKEN"))
            }
            MessageKind::SwapOffer => Some(format!("{base}/swap/TOKEN")),
            k if k.is_about_a_round() => Some(format!("{base}/consent/TOKEN")),
            MessageKind::FeedbackClosed | MessageKind::WaitlistStanding => {
                Some(format!("{base}/me/TOKEN"))
            }
            _ => None,
        };
        EmailContext {
            kind,
            recipient_name: "Grace".into(),
            circle_name: "Slow Reading".into(),
            circle_url: format!("{base}/c/slow-reading"),
            session,
            waitlist_position: (kind == MessageKind::Waitlisted).then_some(3),
            action_url,
            rsvp,
            prompts: if kind == MessageKind::ReflectionPrompt {
                prompts_for(CircleKind::BookClub, None)
            } else {
                Vec::new()
            },
            digest: (kind == MessageKind::FacilitatorDigest).then(|| Digest {
                yes: vec!["Ada".into(), "Bo".into()],
                no: vec!["Cy".into()],
                maybe: vec![],
                unanswered: vec!["Di".into()],
            }),
            upcoming: if matches!(kind, MessageKind::Welcome | MessageKind::Promoted) {
                vec![
                    "Thursday 4 March 2027, 19:00–20:30 (Europe/London)".into(),
                    "Thursday 11 March 2027, 19:00–20:30 (Europe/London)".into(),
                ]
            } else {
                Vec::new()
            },
            invite_lead_days: 7,
            calendar: matches!(kind, MessageKind::Welcome | MessageKind::Promoted).then(|| {
                (
                    format!("{base}/calendar/TOKEN.ics"),
                    "webcal://circles.example.org/calendar/TOKEN.ics".into(),
                )
            }),
            manage_url: Some(format!("{base}/me/TOKEN")),
            unsubscribe_url: (!kind.is_transactional())
                .then(|| format!("{base}/unsubscribe/TOKEN")),
            role: (kind.is_about_a_role() && kind != MessageKind::RoleNotice).then(|| RoleView {
                name: "Facilitator".into(),
                ask: "facilitate".into(),
                holding: "facilitating".into(),
                guide: "Open the session and make room for every voice.".into(),
                why: "Grace hasn't led yet; everyone else has.".into(),
                handoff: (kind == MessageKind::RoleAsk).then(|| HandoffView {
                    author: "Ada".into(),
                    parts: vec![(
                        "Where we stopped".into(),
                        "Chapter 4, the gift economy".into(),
                    )],
                }),
                brings_questions: false,
            }),
            notice: matches!(kind, MessageKind::RoleNotice | MessageKind::SwapOffer).then(|| {
                NoticeView {
                    subject: "Still open: Facilitator, Thursday 4 March (Slow Reading)".into(),
                    lines: vec!["Nobody holds this role yet.".into()],
                    action: Some("See the rota".into()),
                }
            }),
            handoff_url: (kind == MessageKind::ReflectionPrompt)
                .then(|| format!("{base}/handoff/TOKEN")),
            attendance_url: (kind == MessageKind::ReflectionPrompt)
                .then(|| format!("{base}/attendance/TOKEN")),
            agenda_url: (kind == MessageKind::Reminder).then(|| format!("{base}/agenda/TOKEN")),
            letter: sample_letter(kind),
            feedback_links: if kind == MessageKind::ReflectionPrompt {
                vec![(
                    "Feedback for Ada <Lovelace>, who facilitated".into(),
                    format!("{base}/feedback/TOKEN"),
                )]
            } else {
                Vec::new()
            },
            agreements: if kind == MessageKind::Welcome {
                vec![(
                    "We start on time".into(),
                    "We begin at the hour & wait for nobody.".into(),
                )]
            } else {
                Vec::new()
            },
            next: matches!(kind, MessageKind::ReflectionPrompt | MessageKind::Welcome).then(|| {
                NextView {
                    session: SessionView {
                        when: "Thursday 11 March 2027, 19:00–20:30 (Europe/London)".into(),
                        day: "Thursday 11 March".into(),
                        location: Some("Room 4 & the garden".into()),
                        reading: Some("Braiding Sweetgrass, by Robin Wall Kimmerer".into()),
                        facilitator: None,
                        roles: Vec::new(),
                        agenda: Vec::new(),
                        questions: None,
                    },
                    rsvp: RsvpLinks {
                        yes: format!("{base}/rsvp/NEXT?response=yes"),
                        no: format!("{base}/rsvp/NEXT?response=no"),
                        maybe: format!("{base}/rsvp/NEXT?response=maybe"),
                    },
                }
            }),
            riders: match (kind, sample_letter(MessageKind::ConsentRound)) {
                (MessageKind::Reminder, Some(round)) => {
                    vec![(round, format!("{base}/consent/TOKEN"))]
                }
                _ => Vec::new(),
            },
            notes: if kind == MessageKind::Reminder {
                vec![format!(
                    "Feedback about you as facilitator on Thursday 25 February: {}",
                    crate::domain::feedback::TOO_FEW
                )]
            } else {
                Vec::new()
            },
            also_asked: if kind == MessageKind::RoleAsk {
                vec![AlsoAsked {
                    role: RoleView {
                        name: "Timekeeper".into(),
                        ask: "be the timekeeper on".into(),
                        holding: "the timekeeper on".into(),
                        guide: "Keep each round to its time & warn gently.".into(),
                        why: "You haven't kept time yet.".into(),
                        handoff: None,
                        brings_questions: false,
                    },
                    session: SessionView {
                        when: "Thursday 18 March 2027, 19:00–20:30 (Europe/London)".into(),
                        day: "Thursday 18 March".into(),
                        location: None,
                        reading: None,
                        facilitator: None,
                        roles: Vec::new(),
                        agenda: Vec::new(),
                        questions: None,
                    },
                    url: format!("{base}/role/OTHER"),
                }]
            } else {
                Vec::new()
            },
        }
    }

    fn sample_letter(kind: MessageKind) -> Option<LetterView> {
        let letter = |subject: &str, action: Option<&str>| LetterView {
            subject: subject.into(),
            lines: vec!["Ada <Lovelace> proposed an agreement for Slow Reading.".into()],
            quote: vec!["We start on time.".into(), "Phones stay in bags.".into()],
            after: vec!["3 of 6 have answered.".into()],
            action: action.map(str::to_string),
        };
        match kind {
            MessageKind::ConsentRound => Some(letter(
                "Consent round: We start on time (Slow Reading)",
                Some("Give your answer"),
            )),
            MessageKind::ConsentReminder => Some(letter(
                "Closes tomorrow: We start on time (Slow Reading)",
                Some("Give your answer"),
            )),
            MessageKind::ConsentOutcome => Some(letter(
                "Adopted: We start on time (Slow Reading)",
                Some("See the outcome"),
            )),
            MessageKind::FeedbackClosed => Some(letter(
                "Your feedback from Thursday 4 March (Slow Reading)",
                Some("Read it on your page"),
            )),
            MessageKind::FeedbackReported => {
                Some(letter("An answer was reported (Slow Reading)", None))
            }
            MessageKind::GrowAsk => Some(letter(
                "Would you lead Slow Reading II? (Slow Reading)",
                Some("Accept, or say not now"),
            )),
            MessageKind::GrowMoved => Some(letter(
                "A seat for you in Slow Reading II",
                Some("Open your page"),
            )),
            MessageKind::GrowNotice => Some(letter(
                "Ada <Lovelace> will lead Slow Reading II (Slow Reading)",
                Some("See the circle"),
            )),
            MessageKind::WaitlistStanding => Some(
                crate::email::letters::Standing {
                    circle: "Slow Reading".into(),
                    place: 2,
                    waiting: 2,
                    threshold: Some(3),
                    asking: false,
                }
                .letter()
                .unwrap(),
            ),
            _ => None,
        }
    }

    #[test]
    fn every_message_renders_as_snapshotted() {
        for kind in MessageKind::ALL {
            let rendered = render(&sample(kind)).unwrap();
            insta::assert_snapshot!(format!("{kind}_subject"), rendered.subject);
            insta::assert_snapshot!(format!("{kind}_text"), rendered.text);
            insta::assert_snapshot!(format!("{kind}_html"), rendered.html);
        }
    }

    #[test]
    fn a_discussion_lead_s_ask_asks_for_their_questions_and_says_where_they_go() {
        let mut c = sample(MessageKind::RoleAsk);
        let role = c.role.as_mut().unwrap();
        role.name = "Discussion lead".into();
        role.ask = "be the discussion lead on".into();
        role.holding = "the discussion lead on".into();
        role.guide = "Bring two or three questions about the reading and open the discussion with the first one.".into();
        role.why = "Grace hasn't been discussion lead yet; everyone else has.".into();
        role.handoff = None;
        role.brings_questions = true;
        let rendered = render(&c).unwrap();
        insta::assert_snapshot!("role_ask_discussion_lead_subject", rendered.subject);
        insta::assert_snapshot!("role_ask_discussion_lead_text", rendered.text);
        insta::assert_snapshot!("role_ask_discussion_lead_html", rendered.html);
        // Without the request (an ask queued before it existed) the ask says what it said.
        c.role.as_mut().unwrap().brings_questions = false;
        let plain = render(&c).unwrap();
        assert!(!plain.text.contains("your role page"), "{}", plain.text);
        assert!(!plain.html.contains("your role page"));
    }

    #[test]
    fn a_timekeeper_without_rounds_is_sent_a_countdown_of_the_session() {
        let mut c = sample(MessageKind::Reminder);
        c.session.as_mut().unwrap().agenda.clear();
        let rendered = render(&c).unwrap();
        assert!(
            rendered.text.contains(
                "You're keeping time: a countdown of the session, on your phone:\nhttps://circles.example.org/agenda/TOKEN"
            ),
            "{}",
            rendered.text
        );
        assert!(rendered.html.contains(">a countdown of the session</a>"));
        assert!(!rendered.text.contains("each speaker"));
        c.agenda_url = None;
        assert!(!render(&c).unwrap().text.contains("keeping time"));
    }

    #[test]
    fn the_reflection_prompt_asks_how_the_day_was() {
        let rendered = render(&sample(MessageKind::ReflectionPrompt)).unwrap();
        assert_eq!(
            rendered.subject,
            "How was Thursday 4 March? And your invitation for Thursday 11 March (Slow Reading)"
        );
        assert!(rendered
            .text
            .contains("Next: Slow Reading meets on Thursday 11 March"));
        let mut alone = sample(MessageKind::ReflectionPrompt);
        alone.next = None;
        assert_eq!(
            render(&alone).unwrap().subject,
            "How was Thursday 4 March? A moment to reflect (Slow Reading)"
        );
        assert!(rendered
            .text
            .starts_with("Hello Grace,\n\nHow was Thursday 4 March? Thank you"));
    }

    #[test]
    fn html_parts_escape_what_people_typed() {
        let mut c = sample(MessageKind::Invitation);
        c.circle_name = "<script>alert(1)</script>".into();
        let rendered = render(&c).unwrap();
        assert!(!rendered.html.contains("<script>"));
        assert!(
            rendered.html.contains("&#60;script&#62;") || rendered.html.contains("&lt;script&gt;")
        );
        assert!(
            rendered.text.contains("<script>"),
            "plain text is not escaped"
        );
    }

    #[test]
    fn prompts_suit_the_circle_unless_the_session_sets_its_own() {
        assert_eq!(prompts_for(CircleKind::LearningCircle, None).len(), 3);
        assert_eq!(
            prompts_for(CircleKind::BookClub, Some("  One?\n\nTwo?  ")),
            vec!["One?".to_string(), "Two?".to_string()]
        );
        assert_eq!(prompts_for(CircleKind::BookClub, Some("  \n")).len(), 3);
    }
}
