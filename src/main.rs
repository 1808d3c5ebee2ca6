use clap::Parser;
use roundtable::cli::{self, Cli};
use roundtable::config::Settings;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roundtable: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    roundtable::telemetry::init(&settings.log);
    match cli::run(cli, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roundtable: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
