//! Email: message templates, calendar parts, and the mailer that hands messages to a mail
//! server (or the outbox folder). Nothing here decides *when* to send; jobs do.

pub mod ics;
pub mod letters;
pub mod mailer;
pub mod messages;
pub mod when;

pub use mailer::{Mailer, SendError};
pub use messages::{EmailContext, MessageKind, Rendered};

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

/// One message for one recipient, fully rendered.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: Mailbox,
    pub from: Mailbox,
    pub message_id: String,
    pub rendered: Rendered,
    /// `https://…/unsubscribe/{token}`: sent as List-Unsubscribe with one-click POST.
    pub unsubscribe_url: Option<String>,
    pub calendar: Option<(ics::Method, String)>,
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(
            s.trim_start_matches('<').trim_end_matches('>').to_string(),
        ))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

impl OutgoingEmail {
    /// The MIME message: text and HTML alternatives, plus the calendar part when present.
    pub fn to_message(&self) -> Result<Message, lettre::error::Error> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(self.to.clone())
            .subject(self.rendered.subject.clone())
            .message_id(Some(self.message_id.clone()));
        if let Some(url) = &self.unsubscribe_url {
            builder = builder
                .header(ListUnsubscribe(url.clone()))
                .header(ListUnsubscribePost);
        }
        let mut body = MultiPart::alternative()
            .singlepart(SinglePart::plain(self.rendered.text.clone()))
            .singlepart(SinglePart::html(self.rendered.html.clone()));
        if let Some((method, ics)) = &self.calendar {
            let content_type = ContentType::parse(&format!(
                "text/calendar; charset=utf-8; method={}",
                method.as_str()
            ))
            .expect("a well-formed content type");
            body = body.singlepart(SinglePart::builder().header(content_type).body(ics.clone()));
        }
        builder.multipart(body)
    }
}
