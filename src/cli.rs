//! The `roundtable` command line: `serve`, `migrate` and `admin` tasks.

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::db;
use crate::domain::{DisplayName, EmailAddress};
use crate::startup::{prepare_database, Application, WorkerHandle};

#[derive(Debug, Parser)]
#[command(
    name = "roundtable",
    version,
    about = "Book clubs and learning circles with shared leadership",
    after_help = "Configuration: config/default.toml, then config/<profile>.toml (the profile \
from ROUNDTABLE_PROFILE: development (the default), test or production; ROUNDTABLE_CONFIG_DIR \
names another folder), then DATABASE_URL, then ROUNDTABLE_<SECTION>__<KEY> variables, e.g. \
ROUNDTABLE_HTTP__BIND=0.0.0.0:8080 or ROUNDTABLE_EMAIL__SMTP_URL=smtp://127.0.0.1:2525. The \
README lists every key. An unknown key stops start-up with its name."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service, with the worker (email and every other job) inside it unless
    /// `worker.enabled` is false.
    Serve,
    /// Create the database if needed and apply pending migrations.
    Migrate {
        /// Undo every migration instead (drops all Roundtable tables).
        #[arg(long)]
        revert_all: bool,
    },
    /// Run the worker alone: email and every other job (any number may run against one database).
    Worker,
    /// Look at and steer the email queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Add people to a circle from a file.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write a circle's data as CSV to standard output.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Fill the configured database with realistic data for benchmarks and demos.
    Seed {
        /// How many people to create.
        #[arg(long, default_value_t = 10_000)]
        members: i64,
        /// How many circles to spread them over (plus one circle of 1,000 members).
        #[arg(long, default_value_t = 300)]
        circles: i64,
        /// How many sessions to schedule across the circles.
        #[arg(long, default_value_t = 3_000)]
        sessions: i64,
        /// How many RSVP answers to record.
        #[arg(long, default_value_t = 50_000)]
        rsvps: i64,
        /// Write sample links (RSVP, confirmation, calendar, a dashboard sign-in) here as JSON.
        #[arg(long)]
        targets: Option<std::path::PathBuf>,
    },
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The totals behind the organisation's leadership figures.
    #[command(subcommand)]
    Leadership(LeadershipCommand),
}

#[derive(Debug, Subcommand)]
pub enum LeadershipCommand {
    /// Recount the per-person, per-circle, per-day totals from the roles themselves and say
    /// whether anything differed (after a restore, or data changed by hand).
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Members from a CSV with columns `email`, optional `display_name` and `role`; they are
    /// vouched for (active or waitlisted at once) and get a welcome email.
    Members {
        /// The circle's slug (the last part of its public address /c/SLUG).
        #[arg(long)]
        circle: String,
        /// The CSV file to read.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// One row per session and member with their answer and attendance.
    Attendance {
        /// The circle's slug (the last part of its public address /c/SLUG).
        #[arg(long)]
        circle: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// How many jobs are in each state.
    Stats,
    /// List jobs, newest last.
    List {
        /// queued, running, done or dead.
        #[arg(long)]
        state: Option<String>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue a dead job again.
    Retry {
        /// The job's id, as `jobs list` shows it.
        id: uuid::Uuid,
    },
    /// Run every job that is due now, then exit.
    RunDue,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make a person an organiser (all circles, API tokens), creating them if needed.
    #[command(name = "create-organizer")]
    CreateOrganiser {
        /// Their email address (the sign-in link goes there).
        #[arg(long)]
        email: String,
        /// Display name for a new member (defaults to the part before the @).
        #[arg(long)]
        name: Option<String>,
    },
    /// Create an API token for an existing member and print it (alone) on standard output.
    CreateToken {
        /// The email address of the member the token acts for.
        #[arg(long)]
        email: String,
        /// What the token is for, e.g. "calendar sync".
        #[arg(long)]
        name: String,
    },
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            if settings.http.public_url_derived {
                tracing::info!(
                    public_url = %settings.http.public_url,
                    "http.public_url is not set, so links in email use the address http.bind listens on; set http.public_url to the address people use"
                );
            }
            let app = Application::build(settings.clone()).await?;
            tracing::info!(
                port = app.port(),
                public_url = %settings.http.public_url,
                "Roundtable is listening"
            );
            app.run_until_stopped().await?;
        }
        Command::Migrate { revert_all } => {
            if revert_all {
                let n = db::revert_all_migrations(&settings.database.url).await?;
                eprintln!("reverted {n} migrations");
            } else {
                prepare_database(&settings).await?;
                eprintln!("database is up to date");
            }
        }
        Command::Worker => {
            prepare_database(&settings).await?;
            let pool = db::build_pool(&settings.database)?;
            let worker = WorkerHandle::spawn(&settings, pool)?;
            wait_for_stop_signal().await;
            worker.shutdown().await;
        }
        Command::Jobs(cmd) => jobs(cmd, &settings).await?,
        Command::Seed {
            members,
            circles,
            sessions,
            rsvps,
            targets,
        } => {
            if [members, circles, sessions, rsvps]
                .iter()
                .any(|n| *n < 1 || *n > 10_000_000)
                || circles > members
            {
                anyhow::bail!(
                    "sizes must be between 1 and 10,000,000, with no more circles than members"
                );
            }
            prepare_database(&settings).await?;
            let pool = db::build_pool(&settings.database)?;
            let mut conn = pool.get().await?;
            let keys = crate::domain::tokens::TokenKeys::new(settings.token_key()?.expose(), &[]);
            let links = crate::links::Links::new(settings.public_base(), keys);
            let started = std::time::Instant::now();
            let sizes = crate::seed::Sizes {
                members,
                circles,
                sessions,
                rsvps,
            };
            let written = crate::seed::seed(&mut conn, sizes, &links).await?;
            eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
            if let Some(path) = targets {
                std::fs::write(&path, serde_json::to_vec_pretty(&written)?)?;
                eprintln!("wrote {}", path.display());
            }
        }
        Command::Import(ImportCommand::Members { circle, file }) => {
            import_members(&settings, &circle, &file).await?
        }
        Command::Export(ExportCommand::Attendance { circle }) => {
            prepare_database(&settings).await?;
            let pool = db::build_pool(&settings.database)?;
            let mut conn = pool.get().await?;
            let circle = db::circles::find_by_slug(&mut conn, &circle)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no circle has the slug `{circle}`"))?;
            let csv = crate::exports::attendance_csv(&mut conn, &circle, false)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            use std::io::Write;
            std::io::stdout().write_all(&csv)?;
        }
        Command::Admin(cmd) => admin(cmd, &settings).await?,
        Command::Leadership(LeadershipCommand::Rebuild) => {
            use diesel_async::AsyncConnection;
            prepare_database(&settings).await?;
            let mut conn = db::Connection::establish(settings.database.url.expose()).await?;
            let done = db::leadership::rebuild(&mut conn).await?;
            println!(
                "leadership totals rebuilt: {} rows; {} differed from the roles before",
                done.rows, done.differed
            );
        }
    }
    Ok(())
}

async fn import_members(
    settings: &Settings,
    slug: &str,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    prepare_database(settings).await?;
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let rows = crate::imports::parse_csv(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let pool = db::build_pool(&settings.database)?;
    let mut conn = pool.get().await?;
    let circle = db::circles::find_by_slug(&mut conn, slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no circle has the slug `{slug}`"))?;
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let summary =
        crate::imports::import(&mut conn, circle.id, &rows, |n| bar.set_position(n as u64))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    println!("{}: {}", circle.name, summary.describe());
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stop signal received");
}

async fn jobs(cmd: JobsCommand, settings: &Settings) -> anyhow::Result<()> {
    use crate::domain::{JobId, JobState};
    prepare_database(settings).await?;
    let pool = db::build_pool(&settings.database)?;
    let mut conn = pool.get().await?;
    match cmd {
        JobsCommand::Stats => {
            for (state, n) in db::jobs::counts_by_state(&mut conn).await? {
                println!("{state:<8} {n}");
            }
        }
        JobsCommand::List { state, limit } => {
            let state = state
                .map(|s| JobState::parse(&s, "--state"))
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if !(1..=1000).contains(&limit) {
                anyhow::bail!("--limit must be between 1 and 1000");
            }
            for job in db::jobs::list(&mut conn, state, None, limit).await? {
                println!(
                    "{}  {:<7} {:<18} attempts {}/{}  run_at {}  {}",
                    job.id,
                    job.state,
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    job.run_at.format("%Y-%m-%d %H:%M:%S"),
                    job.last_error.unwrap_or_default()
                );
            }
        }
        JobsCommand::Retry { id } => match db::jobs::retry_dead(&mut conn, JobId(id)).await? {
            Some(job) => println!("{} queued again", job.id),
            None => match db::jobs::find(&mut conn, JobId(id)).await? {
                Some(job) => anyhow::bail!("job {id} is {}, not dead", job.state),
                None => anyhow::bail!("no job {id}"),
            },
        },
        JobsCommand::RunDue => {
            drop(conn);
            let mailer = std::sync::Arc::new(crate::email::Mailer::from_settings(
                &settings.email,
                settings.worker.concurrency,
            )?);
            let ctx = crate::jobs::JobContext::new(settings, pool, mailer)?;
            let report = crate::worker::drain(&ctx, &(&settings.worker).into()).await?;
            println!(
                "done {}, retrying later {}, dead {}",
                report.done, report.retried, report.dead
            );
        }
    }
    Ok(())
}

async fn admin(cmd: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    use diesel_async::AsyncConnection;
    prepare_database(settings).await?;
    let mut conn = db::Connection::establish(settings.database.url.expose()).await?;
    match cmd {
        AdminCommand::CreateOrganiser { email, name } => {
            let email = EmailAddress::parse(&email)?;
            let name = match name {
                Some(n) => DisplayName::parse(&n)?,
                None => {
                    DisplayName::parse(email.as_str().split('@').next().unwrap_or("organiser"))?
                }
            };
            let member = db::members::find_or_create(&mut conn, &email, &name, None).await?;
            db::members::set_organiser(&mut conn, member.id, true).await?;
            eprintln!("{} is an organiser (member {})", member.email, member.id);
        }
        AdminCommand::CreateToken { email, name } => {
            let email = EmailAddress::parse(&email)?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                anyhow::bail!("--name must be 1 to 100 characters");
            }
            let member = db::members::find_by_email(&mut conn, &email).await?.ok_or_else(|| {
                anyhow::anyhow!(
                    "no member has the address {email}; create one with `roundtable admin create-organizer --email {email}`"
                )
            })?;
            let (token, hash) = crate::secrets::new_api_token();
            db::api_tokens::create(&mut conn, member.id, name, &hash).await?;
            println!("{token}");
        }
    }
    Ok(())
}
