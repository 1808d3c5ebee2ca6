//! A small SMTP server on loopback for tests: it accepts mail, keeps what it received, and
//! can be told to answer the next messages with a failure code (451, 550, ...).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    replies: Arc<Mutex<VecDeque<u16>>>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = Self {
            port,
            received: Arc::default(),
            replies: Arc::default(),
            delay_ms: Arc::default(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.serve(stream).await;
                });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answer the next messages' DATA with these codes, in order (then 250 again).
    pub fn reply_next_with(&self, codes: &[u16]) {
        self.replies.lock().unwrap().extend(codes.iter().copied());
    }

    /// Take this long to accept each message (a slow mail server).
    pub fn delay_each_message(&self, ms: u64) {
        self.delay_ms.store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn serve(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 roundtable-test ESMTP\r\n").await?;
        let mut from = String::new();
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_string();
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                write
                    .write_all(b"250-roundtable-test\r\n250 8BITMIME\r\n")
                    .await?;
            } else if upper.starts_with("MAIL FROM:") {
                from = command[10..].trim().to_string();
                to.clear();
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                to.push(command[8..].trim().to_string());
                write.write_all(b"250 OK\r\n").await?;
            } else if upper == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.extend_from_slice(unstuffed.as_bytes());
                }
                let delay = self.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                }
                let code = self.replies.lock().unwrap().pop_front().unwrap_or(250);
                if code == 250 {
                    self.received.lock().unwrap().push(Received {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                    });
                    write.write_all(b"250 OK queued\r\n").await?;
                } else {
                    write
                        .write_all(
                            format!("{code} the test server says no ({code})\r\n").as_bytes(),
                        )
                        .await?;
                }
            } else if upper == "RSET" || upper == "NOOP" {
                write.write_all(b"250 OK\r\n").await?;
            } else if upper == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                write.write_all(b"502 not implemented\r\n").await?;
            }
        }
    }
}
