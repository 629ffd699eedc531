//! rbgpd: the BGP daemon.

use anyhow::Context;
use bgpd::config;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// rbgpd, a BGP speaker for Kubernetes edges and labs.
#[derive(Debug, Parser)]
#[command(name = "rbgpd", version, about)]
struct Args {
    /// Configuration file.
    #[arg(short, long, default_value = config::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Check a configuration file and exit (0 when it is valid).
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = &args.check_config {
        return match config::load(path) {
            Ok(cfg) => {
                println!(
                    "{}: OK (AS {}, router id {}, {} neighbor entries)",
                    path.display(),
                    cfg.router.asn,
                    cfg.router.router_id,
                    cfg.neighbors.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let cfg = match config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match run(cfg, args.config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rbgpd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cfg: config::Config, path: PathBuf) -> anyhow::Result<()> {
    bgpd::logging::init(&cfg.log).context("logging")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rbgpd")
        .build()
        .context("tokio runtime")?;
    rt.block_on(bgpd::daemon::run(cfg, path))?;
    Ok(())
}
