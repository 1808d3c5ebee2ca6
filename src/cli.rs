//! The `roundtable` command line: `serve`, `migrate` and `admin` tasks.

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::db;
use crate::domain::{DisplayName, EmailAddress};
use crate::startup::{prepare_database, Application};

#[derive(Debug, Parser)]
#[command(
    name = "roundtable",
    version,
    about = "Book clubs and learning circles with shared leadership"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service.
    Serve,
    /// Create the database if needed and apply pending migrations.
    Migrate {
        /// Undo every migration instead (drops all Roundtable tables).
        #[arg(long)]
        revert_all: bool,
    },
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make a person an organiser (all circles, API tokens), creating them if needed.
    CreateOrganizer {
        #[arg(long)]
        email: String,
        /// Display name for a new member (defaults to the part before the @).
        #[arg(long)]
        name: Option<String>,
    },
    /// Create an API token for an existing member and print it (alone) on standard output.
    CreateToken {
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
        Command::Admin(cmd) => admin(cmd, &settings).await?,
    }
    Ok(())
}

async fn admin(cmd: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    use diesel_async::AsyncConnection;
    prepare_database(settings).await?;
    let mut conn = db::Connection::establish(settings.database.url.expose()).await?;
    match cmd {
        AdminCommand::CreateOrganizer { email, name } => {
            let email = EmailAddress::parse(&email)?;
            let name = match name {
                Some(n) => DisplayName::parse(&n)?,
                None => {
                    DisplayName::parse(email.as_str().split('@').next().unwrap_or("organiser"))?
                }
            };
            let member = db::members::find_or_create(&mut conn, &email, &name, None).await?;
            db::members::set_organizer(&mut conn, member.id, true).await?;
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
            let (token, hash) = crate::auth::new_api_token();
            db::api_tokens::create(&mut conn, member.id, name, &hash).await?;
            println!("{token}");
        }
    }
    Ok(())
}
