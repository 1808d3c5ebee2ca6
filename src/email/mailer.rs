//! Where messages go: an SMTP server (a pool whose connections a semaphore really bounds,
//! with explicit timeouts), `.eml` files in an outbox folder, or memory for unit tests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        connections: Arc<Semaphore>,
    },
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
