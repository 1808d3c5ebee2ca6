//! Where messages go: an SMTP server (a pool whose connections a semaphore really bounds,
//! with explicit timeouts), `.eml` files in an outbox folder, or memory for unit tests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Semaphore;

use crate::config::{EmailSettings, EmailTransport};

/// Why a message was not handed over, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Connection trouble, timeouts, or a 4xx answer: try again later.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// A 5xx answer or a message that cannot be built: retrying will not help.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub enum Mailer {
    /// SMTP with TLS (STARTTLS or implicit), through lettre's pooled transport.
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        connections: Arc<Semaphore>,
    },
    /// Plain SMTP (a relay on the same host or network), through our own small pool whose
    /// sockets set TCP_NODELAY: lettre writes the message and its final `.` separately, and
    /// with Nagle's algorithm that second write waits for a delayed ACK, some 40 ms a message.
    PlainSmtp(PlainPool),
    File {
        dir: PathBuf,
    },
    Memory {
        sent: Arc<Mutex<Vec<Vec<u8>>>>,
    },
}

/// Connection, greeting and per-command timeout for SMTP.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    /// The mailer the settings ask for; `connections` bounds simultaneous SMTP sessions.
    pub fn from_settings(settings: &EmailSettings, connections: usize) -> anyhow::Result<Self> {
        match settings.transport {
            EmailTransport::File => {
                std::fs::create_dir_all(&settings.outbox_dir)?;
                Ok(Self::File {
                    dir: settings.outbox_dir.clone(),
                })
            }
            EmailTransport::Smtp => {
                let url = settings
                    .smtp_url
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("email.smtp_url is not set"))?;
                let connections = connections.max(1);
                if let Some(pool) = PlainPool::from_url(url.expose(), connections)? {
                    return Ok(Self::PlainSmtp(pool));
                }
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| anyhow::anyhow!("email.smtp_url is not usable: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(
                        lettre::transport::smtp::PoolConfig::new()
                            .max_size(connections as u32)
                            .idle_timeout(Duration::from_secs(60)),
                    )
                    .build();
                Ok(Self::Smtp {
                    transport,
                    connections: Arc::new(Semaphore::new(connections)),
                })
            }
        }
    }

    pub fn memory() -> (Self, Arc<Mutex<Vec<Vec<u8>>>>) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        (Self::Memory { sent: sent.clone() }, sent)
    }

    pub async fn send(&self, message: &lettre::Message) -> Result<(), SendError> {
        match self {
            Self::Smtp {
                transport,
                connections,
            } => {
                let _permit = connections
                    .acquire()
                    .await
                    .map_err(|_| SendError::Temporary("mailer is shutting down".into()))?;
                match transport.send(message.clone()).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                    Err(e) => Err(SendError::Temporary(e.to_string())),
                }
            }
            Self::PlainSmtp(pool) => pool.send(message).await,
            Self::File { dir } => {
                let bytes = message.formatted();
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                    uuid::Uuid::new_v4().simple()
                );
                // Write then rename, so a reader of the outbox never sees half a message.
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, &bytes)
                    .await
                    .map_err(|e| SendError::Temporary(format!("writing {}: {e}", tmp.display())))?;
                tokio::fs::rename(&tmp, dir.join(&name))
                    .await
                    .map_err(|e| {
                        SendError::Temporary(format!("renaming {}: {e}", tmp.display()))
                    })?;
                Ok(())
            }
            Self::Memory { sent } => {
                sent.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(message.formatted());
                Ok(())
            }
        }
    }
}

/// A bounded pool of plain SMTP connections with TCP_NODELAY.
pub struct PlainPool {
    address: String,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    permits: Semaphore,
}

impl PlainPool {
    /// A pool for `smtp://[user:password@]host[:port]` without TLS options; `None` for any
    /// URL that asks for TLS, which lettre's own transport handles.
    pub fn from_url(url: &str, connections: usize) -> anyhow::Result<Option<Self>> {
        let Some(rest) = url.strip_prefix("smtp://") else {
            return Ok(None);
        };
        if rest.contains('?') {
            return Ok(None);
        }
        let rest = rest.trim_end_matches('/');
        let (credentials, host) = match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s: &str| {
                    percent_decode(s).map_err(|_| {
                        anyhow::anyhow!("email.smtp_url has a badly encoded user or password")
                    })
                };
                (
                    Some(Credentials::new(decode(user)?, decode(password)?)),
                    host,
                )
            }
            None => (None, rest),
        };
        if host.is_empty() {
            anyhow::bail!("email.smtp_url names no host");
        }
        let address = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            host.to_string()
        } else {
            format!("{host}:25")
        };
        Ok(Some(Self {
            address,
            credentials,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(connections),
        }))
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let temporary = |e: &dyn std::fmt::Display| {
            SendError::Temporary(format!("connecting to {}: {e}", self.address))
        };
        let stream =
            tokio::time::timeout(SMTP_TIMEOUT, tokio::net::TcpStream::connect(&self.address))
                .await
                .map_err(|_| temporary(&"timed out"))?
                .map_err(|e| temporary(&e))?;
        stream.set_nodelay(true).map_err(|e| temporary(&e))?;
        let mut conn = tokio::time::timeout(
            SMTP_TIMEOUT,
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello),
        )
        .await
        .map_err(|_| temporary(&"greeting timed out"))?
        .map_err(|e| classify(&e))?;
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(conn)
    }

    async fn send(&self, message: &lettre::Message) -> Result<(), SendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendError::Temporary("mailer is shutting down".into()))?;
        let reused = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match reused {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let result = tokio::time::timeout(
            SMTP_TIMEOUT,
            conn.send(message.envelope(), &message.formatted()),
        )
        .await;
        match result {
            Ok(Ok(_)) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(conn);
                Ok(())
            }
            // A failed connection is dropped, not reused.
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(SendError::Temporary(
                "the mail server did not answer in time".into(),
            )),
        }
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(e.to_string())
    } else {
        SendError::Temporary(e.to_string())
    }
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_urls_use_the_nodelay_pool_and_tls_urls_do_not() {
        let pool = PlainPool::from_url("smtp://127.0.0.1:2525", 4)
            .unwrap()
            .unwrap();
        assert_eq!(pool.address, "127.0.0.1:2525");
        assert!(pool.credentials.is_none());
        let pool = PlainPool::from_url("smtp://us%40er:p%3Ass@mail.example.org", 4)
            .unwrap()
            .unwrap();
        assert_eq!(pool.address, "mail.example.org:25");
        assert!(pool.credentials.is_some());
        assert!(PlainPool::from_url("smtps://mail.example.org:465", 4)
            .unwrap()
            .is_none());
        assert!(
            PlainPool::from_url("smtp://mail.example.org:587?tls=required", 4)
                .unwrap()
                .is_none()
        );
        assert!(PlainPool::from_url("smtp://", 4).is_err());
    }
}
