//! Typed settings: `config/default.toml` < `config/<profile>.toml` < `DATABASE_URL` <
//! `ROUNDTABLE_<SECTION>__<KEY>`. Unknown keys stop start-up with the key's name, and
//! secrets never show in `Debug` output or logs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");
/// Files of this repository that publish example keys: a production key must not appear in
/// any of them.
const PUBLISHED: &[&str] = &[
    DEFAULT_TOML,
    include_str!("../config/development.toml"),
    include_str!("../config/test.toml"),
    include_str!("../config/production.toml"),
    include_str!("../docker-compose.yml"),
];
const PROFILES: &[(&str, &str)] = &[
    ("development", include_str!("../config/development.toml")),
    ("test", include_str!("../config/test.toml")),
    ("production", include_str!("../config/production.toml")),
];

/// Shortest accepted `secrets.token_key`.
pub const MIN_TOKEN_KEY_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Development,
    Test,
    Production,
}

impl Profile {
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        match s {
            "development" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            other => Err(ConfigError(format!(
                "ROUNDTABLE_PROFILE: unknown profile `{other}` (expected development, test or production)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var("ROUNDTABLE_PROFILE") {
            Ok(p) if !p.is_empty() => Self::parse(&p),
            _ => Ok(Self::Development),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// A string that must not be printed.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A connection URL whose password is hidden when printed.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same server with another database name.
    pub fn with_database(&self, name: &str) -> Self {
        let url = &self.0;
        let (head, query) = match url.find('?') {
            Some(i) => (&url[..i], &url[i..]),
            None => (url.as_str(), ""),
        };
        let after_scheme = head.find("://").map(|i| i + 3).unwrap_or(0);
        let base = match head[after_scheme..].find('/') {
            Some(i) => &head[..after_scheme + i],
            None => head,
        };
        Self(format!("{base}/{name}{query}"))
    }

    /// The database name in the URL's path, if any.
    pub fn database_name(&self) -> Option<&str> {
        let url = self.0.split('?').next().unwrap_or("");
        let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
        let path = &url[after_scheme..];
        let name = &path[path.find('/')? + 1..];
        (!name.is_empty()).then_some(name)
    }

    /// The URL with any password replaced, safe to log.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return "[unparseable url]".into();
        };
        let rest = &url[scheme_end..];
        let Some(at) = rest.find('@') else {
            return url.clone();
        };
        let userinfo = &rest[..at];
        match userinfo.find(':') {
            Some(colon) => format!(
                "{}{}:[redacted]{}",
                &url[..scheme_end],
                &userinfo[..colon],
                &rest[at..]
            ),
            None => url.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub email: EmailSettings,
    pub secrets: SecretSettings,
    pub worker: WorkerSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    #[serde(skip, default = "default_profile")]
    pub profile: Profile,
}

fn default_profile() -> Profile {
    Profile::Development
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub pool_size: usize,
    pub acquire_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub create_if_missing: bool,
    /// A streaming replica of `url` for reads that may be a moment old (public pages, calendar
    /// feeds, the leadership figures). Unset, every read goes to `url`.
    #[serde(default)]
    pub replica_url: Option<DatabaseUrl>,
    /// How far behind the primary the replica may be before its reads go to the primary.
    pub replica_max_lag_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub bind: String,
    /// The base of every link in email. When it is not set, it is derived from `bind`
    /// (and `public_url_derived` says so).
    #[serde(default)]
    pub public_url: String,
    #[serde(skip)]
    pub public_url_derived: bool,
    /// Production refuses an `http://` public URL unless this says it is meant.
    #[serde(default)]
    pub allow_insecure_public_url: bool,
    #[serde(default)]
    pub workers: Option<usize>,
    /// A dashboard session ends after this many hours without a request.
    pub session_idle_hours: u32,
    /// ...and this many hours after signing in, however busy.
    pub session_max_age_hours: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    File,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub transport: EmailTransport,
    #[serde(default)]
    pub smtp_url: Option<Secret>,
    pub outbox_dir: PathBuf,
    pub from: String,
    /// Send SMTP credentials over a connection without TLS (refused unless this is set).
    #[serde(default)]
    pub allow_plaintext_auth: bool,
    /// At least this many minutes between two letters to one person; a letter due sooner
    /// waits. Replies to something they did (confirmations, sign-in links, a welcome) and
    /// cancellations never wait. 0 turns it off.
    #[serde(default = "default_letter_gap")]
    pub letter_gap_minutes: u32,
}

fn default_letter_gap() -> u32 {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSettings {
    #[serde(default)]
    pub token_key: Option<Secret>,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub enabled: bool,
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    /// How long a claimed job is ours; a worker that dies lets it go after this.
    pub lease_seconds: u64,
    /// First retry delay; each further attempt doubles it, with jitter, up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
}

/// Per-process limits on public forms (signup, personal-link requests), and how often a
/// circle opens consent rounds that email all its members.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub signups_per_ip_per_hour: u32,
    pub signups_per_address_per_hour: u32,
    pub consent_rounds_per_circle_per_week: u32,
    /// Days after which a signup nobody confirmed is deleted.
    pub unconfirmed_signup_days: u32,
    /// Unconfirmed signups a circle holds at most; further ones store and send nothing.
    pub unconfirmed_signups_per_circle: u32,
}

impl LimitSettings {
    pub fn rounds(&self) -> crate::domain::agreements::RoundLimits {
        crate::domain::agreements::RoundLimits {
            per_circle_per_week: self.consent_rounds_per_circle_per_week,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Settings {
    /// Settings for the profile named by `ROUNDTABLE_PROFILE`, from files and environment.
    pub fn load() -> Result<Self, ConfigError> {
        let profile = Profile::from_env()?;
        let figment = Self::figment(profile, Path::new("config"))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database.url".into()),
            )
            .merge(
                Env::prefixed("ROUNDTABLE_")
                    .filter(|key| !is_helper_variable(key.as_str()))
                    .split("__"),
            );
        Self::from_figment(figment, profile)
    }

    /// Files only: the embedded defaults, overridden by `dir/*.toml` when that folder exists.
    pub fn figment(profile: Profile, dir: &Path) -> Figment {
        let profile_toml = PROFILES
            .iter()
            .find(|(name, _)| *name == profile.as_str())
            .map(|(_, toml)| *toml)
            .unwrap_or("");
        let dir = std::env::var_os("ROUNDTABLE_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.to_path_buf());
        let mut figment = Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .merge(Toml::string(profile_toml));
        if dir.is_dir() {
            figment = figment
                .merge(Toml::file(dir.join("default.toml")))
                .merge(Toml::file(dir.join(format!("{}.toml", profile.as_str()))));
        }
        figment
    }

    pub fn from_figment(figment: Figment, profile: Profile) -> Result<Self, ConfigError> {
        let mut settings: Settings = figment.extract().map_err(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                ConfigError(e.to_string())
            } else {
                ConfigError(format!("`{key}`: {e}"))
            }
        })?;
        settings.profile = profile;
        if settings.http.public_url.trim().is_empty() {
            settings.http.public_url = url_for_bind(&settings.http.bind);
            settings.http.public_url_derived = true;
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let err = |msg: String| Err(ConfigError(msg));
        if !(self.http.public_url.starts_with("http://")
            || self.http.public_url.starts_with("https://"))
        {
            return err("`http.public_url` must start with http:// or https://".into());
        }
        let production = self.profile == Profile::Production;
        if self.email.transport == EmailTransport::Smtp && self.email.smtp_url.is_none() {
            return err("`email.smtp_url` is required when `email.transport` is smtp".into());
        }
        if let Some(url) = &self.email.smtp_url {
            if smtp_sends_password_in_clear(url.expose()) && !self.email.allow_plaintext_auth {
                return err(
                    "`email.smtp_url` carries a user and password but no TLS: use smtps://, or \
                     smtp://…?tls=required, or set `email.allow_plaintext_auth = true` if the \
                     connection cannot be overheard"
                        .into(),
                );
            }
        }
        if let Some(key) = &self.secrets.token_key {
            let key = key.expose();
            if key.len() < MIN_TOKEN_KEY_LEN {
                return err(format!(
                    "`secrets.token_key` must be at least {MIN_TOKEN_KEY_LEN} characters"
                ));
            }
            if production && PUBLISHED.iter().any(|file| file.contains(key)) {
                return err(
                    "`secrets.token_key` is a key published in Roundtable's own files; anyone \
                     could forge links with it. Generate one, e.g. `openssl rand -base64 48`"
                        .into(),
                );
            }
            if production && looks_guessable(key) {
                return err(
                    "`secrets.token_key` looks guessable (too few different characters); \
                     generate one, e.g. `openssl rand -base64 48`"
                        .into(),
                );
            }
        } else if production {
            return err("`secrets.token_key` is required in production".into());
        }
        if production
            && !self.http.public_url.starts_with("https://")
            && !self.http.allow_insecure_public_url
        {
            return err(format!(
                "`http.public_url` is {}; production needs the https:// address people use \
                 (session cookies are only marked Secure over https). Set \
                 `http.allow_insecure_public_url = true` if plain http is really meant.",
                self.http.public_url
            ));
        }
        if self.http.workers == Some(0) {
            return err(
                "`http.workers` must be at least 1 (leave it unset for one per CPU)".into(),
            );
        }
        if self.http.session_idle_hours == 0
            || self.http.session_max_age_hours < self.http.session_idle_hours
        {
            return err(
                "`http.session_idle_hours` must be at least 1 and at most `http.session_max_age_hours`"
                    .into(),
            );
        }
        if self.database.pool_size == 0 {
            return err("`database.pool_size` must be at least 1".into());
        }
        if let Some(replica) = &self.database.replica_url {
            if !replica.expose().starts_with("postgres://")
                && !replica.expose().starts_with("postgresql://")
            {
                return err(
                    "`database.replica_url` must be a postgres:// URL (leave it unset for none)"
                        .into(),
                );
            }
        }
        if !(10..=3_600_000).contains(&self.database.replica_max_lag_ms) {
            return err("`database.replica_max_lag_ms` must be between 10 and 3600000".into());
        }
        if !(1..=365).contains(&self.limits.unconfirmed_signup_days) {
            return err("`limits.unconfirmed_signup_days` must be between 1 and 365".into());
        }
        if !(1..=1_000_000).contains(&self.limits.unconfirmed_signups_per_circle) {
            return err(
                "`limits.unconfirmed_signups_per_circle` must be between 1 and 1000000".into(),
            );
        }
        if !(1..=100).contains(&self.limits.consent_rounds_per_circle_per_week) {
            return err(
                "`limits.consent_rounds_per_circle_per_week` must be between 1 and 100".into(),
            );
        }
        if self.worker.concurrency == 0 {
            return err("`worker.concurrency` must be at least 1".into());
        }
        if self.worker.lease_seconds < 5 {
            return err("`worker.lease_seconds` must be at least 5".into());
        }
        if self.worker.retry_base_ms == 0 || self.worker.retry_max_ms < self.worker.retry_base_ms {
            return err(
                "`worker.retry_base_ms` must be positive and at most `worker.retry_max_ms`".into(),
            );
        }
        if lettre::message::Mailbox::from_str(&self.email.from).is_err() {
            return err(format!(
                "`email.from` is not a mailbox like `Roundtable <circles@example.org>`: {}",
                self.email.from
            ));
        }
        Ok(())
    }

    /// `http.public_url` without a trailing slash, ready for joining paths.
    pub fn public_base(&self) -> &str {
        self.http.public_url.trim_end_matches('/')
    }

    /// The token key: configured, or (outside production) generated once and kept in
    /// `secrets.key_file` so links keep working across restarts.
    pub fn token_key(&self) -> anyhow::Result<Secret> {
        if let Some(key) = &self.secrets.token_key {
            return Ok(key.clone());
        }
        let path = &self.secrets.key_file;
        if let Ok(existing) = std::fs::read_to_string(path) {
            let existing = existing.trim();
            if existing.len() >= MIN_TOKEN_KEY_LEN {
                return Ok(Secret::new(existing));
            }
        }
        let key = crate::secrets::random_token(48);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_private(path, &key)?;
        tracing::info!(path = %path.display(), "generated a new token key");
        Ok(Secret::new(key))
    }
}

/// The address a server bound to `bind` is reached at from this machine: a wildcard bind
/// (`0.0.0.0`, `[::]`) is reached as `localhost`.
fn url_for_bind(bind: &str) -> String {
    let (host, port) = bind.rsplit_once(':').unwrap_or((bind, "80"));
    let host = match host {
        "0.0.0.0" | "[::]" | "" => "localhost",
        other => other,
    };
    format!("http://{host}:{port}")
}

/// Whether an SMTP URL names a password but asks for no TLS (`smtps://` is TLS from the
/// start; `smtp://…?tls=required` upgrades before authenticating).
fn smtp_sends_password_in_clear(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("smtp://") else {
        return false;
    };
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let has_password = authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'));
    has_password && !query.split('&').any(|kv| kv == "tls=required")
}

/// A key a person typed rather than generated: few distinct characters, or little entropy
/// by a character count (a random base64 key of 32 characters has about 150 bits).
fn looks_guessable(key: &str) -> bool {
    let mut counts = std::collections::HashMap::new();
    for c in key.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = key.chars().count() as f64;
    let bits: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2() * n
        })
        .sum();
    counts.len() < 10 || bits < 100.0
}

/// `ROUNDTABLE_*` variables that choose a profile or steer scripts and tests, not settings.
fn is_helper_variable(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    key == "PROFILE" || key == "CONFIG_DIR" || key.starts_with("TEST_") || key.starts_with("DEV_")
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &str, profile: Profile) -> Result<Settings, ConfigError> {
        let figment =
            Settings::figment(profile, Path::new("no-such-dir")).merge(Toml::string(extra));
        Settings::from_figment(figment, profile)
    }

    #[test]
    fn defaults_load_for_every_profile_but_production_needs_a_key() {
        assert!(load("", Profile::Development).is_ok());
        assert!(load("", Profile::Test).is_ok());
        let err = load(
            "email.smtp_url = 'smtp://127.0.0.1:25'\nhttp.public_url = 'https://c.example.org'",
            Profile::Production,
        )
        .unwrap_err();
        assert!(err.to_string().contains("secrets.token_key"), "{err}");
        let key = format!(
            "secrets.token_key = '{GENERATED}'\nemail.smtp_url = 'smtp://x:25'\n\
             http.public_url = 'https://circles.example.org'"
        );
        assert!(load(&key, Profile::Production).is_ok());
    }

    /// A key as `openssl rand -base64 48` makes one.
    const GENERATED: &str = "q2Xv9mJk4+LpR7sT1wYz0bNcD8eFgH3iKuA5oVxM6nQhZrWyE2tPjSdBfGlCaU";

    fn production(extra: &str) -> Result<Settings, ConfigError> {
        load(
            &format!(
                "email.smtp_url = 'smtp://mail:25'\nhttp.public_url = 'https://circles.example.org'\n{extra}"
            ),
            Profile::Production,
        )
    }

    #[test]
    fn production_refuses_published_and_guessable_keys() {
        let published = "test-only-token-key-0123456789abcdefghijklmnopqrstuvwxyz";
        let compose = "development-only-insecure-token-key-do-not-use-in-production";
        for key in [published, compose] {
            let err = production(&format!("secrets.token_key = '{key}'")).unwrap_err();
            assert!(err.to_string().contains("published"), "{err}");
        }
        for key in [
            "k".repeat(40),
            "abcabcabcabcabcabcabcabcabcabcabcabc".into(),
        ] {
            let err = production(&format!("secrets.token_key = '{key}'")).unwrap_err();
            assert!(err.to_string().contains("guessable"), "{key}: {err}");
        }
        assert!(production(&format!("secrets.token_key = '{GENERATED}'")).is_ok());
        // Development and tests may use the published key.
        assert!(load(
            &format!("secrets.token_key = '{published}'"),
            Profile::Development
        )
        .is_ok());
    }

    #[test]
    fn production_needs_https_unless_told_otherwise() {
        let key = format!("secrets.token_key = '{GENERATED}'");
        let err = load(
            &format!("{key}\nemail.smtp_url = 'smtp://mail:25'\nhttp.public_url = 'http://circles.example.org'"),
            Profile::Production,
        )
        .unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
        assert!(load(
            &format!("{key}\nemail.smtp_url = 'smtp://mail:25'\nhttp.public_url = 'http://circles.example.org'\nhttp.allow_insecure_public_url = true"),
            Profile::Production,
        )
        .is_ok());
    }

    #[test]
    fn smtp_passwords_need_tls_unless_told_otherwise() {
        let smtp = |url: &str, extra: &str| {
            load(
                &format!("email.transport = 'smtp'\nemail.smtp_url = '{url}'\n{extra}"),
                Profile::Development,
            )
        };
        let err = smtp("smtp://me:secret@mail.example.org:587", "").unwrap_err();
        assert!(err.to_string().contains("no TLS"), "{err}");
        assert!(
            !err.to_string().contains("secret"),
            "the password is not repeated"
        );
        assert!(smtp("smtp://me:secret@mail.example.org:587?tls=required", "").is_ok());
        assert!(smtp("smtps://me:secret@mail.example.org", "").is_ok());
        assert!(
            smtp("smtp://127.0.0.1:2525", "").is_ok(),
            "no password, no problem"
        );
        assert!(smtp(
            "smtp://me:secret@127.0.0.1:2525",
            "email.allow_plaintext_auth = true"
        )
        .is_ok());
    }

    #[test]
    fn zero_http_workers_is_a_configuration_error() {
        let err = load("http.workers = 0", Profile::Development).unwrap_err();
        assert!(err.to_string().contains("http.workers"), "{err}");
    }

    #[test]
    fn public_url_follows_bind_unless_set() {
        let s = load("http.bind = '127.0.0.1:9090'", Profile::Development).unwrap();
        assert_eq!(s.http.public_url, "http://127.0.0.1:9090");
        assert!(s.http.public_url_derived);
        let s = load("http.bind = '0.0.0.0:8081'", Profile::Development).unwrap();
        assert_eq!(s.http.public_url, "http://localhost:8081");
        let s = load(
            "http.bind = '0.0.0.0:8081'\nhttp.public_url = 'https://circles.example.org'",
            Profile::Development,
        )
        .unwrap();
        assert_eq!(s.http.public_url, "https://circles.example.org");
        assert!(!s.http.public_url_derived);
    }

    #[test]
    fn unknown_key_is_named_in_the_error() {
        let err = load("[http]\nbindd = '0.0.0.0:1'", Profile::Development).unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
        let err = load("[nonsense]\nx = 1", Profile::Development).unwrap_err();
        assert!(err.to_string().contains("nonsense"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = load("[database]\npool_size = 'many'", Profile::Development).unwrap_err();
        assert!(err.to_string().contains("database.pool_size"), "{err}");
    }

    #[test]
    fn a_replica_is_optional_and_checked_when_set() {
        let s = load("", Profile::Development).unwrap();
        assert_eq!(s.database.replica_url, None);
        assert_eq!(s.database.replica_max_lag_ms, 1000);
        let s = load(
            "[database]\nreplica_url = 'postgres://r@replica:5432/roundtable'",
            Profile::Development,
        )
        .unwrap();
        assert_eq!(
            s.database.replica_url.map(|u| u.expose().to_string()),
            Some("postgres://r@replica:5432/roundtable".into())
        );
        let err = load(
            "[database]\nreplica_url = 'replica:5432'",
            Profile::Development,
        )
        .unwrap_err();
        assert!(err.to_string().contains("database.replica_url"), "{err}");
        for lag in ["0", "-5", "99999999999"] {
            let err = load(
                &format!("[database]\nreplica_max_lag_ms = {lag}"),
                Profile::Development,
            )
            .unwrap_err();
            assert!(
                err.to_string().contains("replica_max_lag_ms"),
                "{lag}: {err}"
            );
        }
    }

    #[test]
    fn short_token_key_is_refused() {
        let err = load("secrets.token_key = 'short'", Profile::Development).unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let settings = load(
            "secrets.token_key = 'super-secret-value-that-is-long-enough'\n\
             database.url = 'postgres://app:hunter2@db:5432/rt'",
            Profile::Development,
        )
        .unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("super-secret-value"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("postgres://app:[redacted]@db:5432/rt"),
            "{debug}"
        );
    }

    #[test]
    fn database_url_swaps_its_database_name() {
        let url = DatabaseUrl::new("postgres://u:p@h:5432/postgres?sslmode=disable");
        assert_eq!(
            url.with_database("rt").expose(),
            "postgres://u:p@h:5432/rt?sslmode=disable"
        );
        assert_eq!(url.database_name(), Some("postgres"));
        let bare = DatabaseUrl::new("postgres://h");
        assert_eq!(bare.with_database("rt").expose(), "postgres://h/rt");
        assert_eq!(bare.database_name(), None);
    }
}
