//! `heatpipe`: parses flags, starts logging, and runs the subcommand.

// The combined server's warp filter chain is deeper than the default type recursion limit.
#![recursion_limit = "256"]

use std::process::ExitCode;

use clap::Parser;
use heatpipe::cli::{Cli, Command};
use heatpipe::commands;
use heatpipe::config::Config;

/// mimalloc: the processor frees millions of small page-view records, where glibc's allocator
/// spent a fifth of the run consolidating free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws_config=warn,aws_smithy_runtime=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<commands::process::SkippedData>() => {
            eprintln!("error: {err:#}");
            ExitCode::from(commands::process::STRICT_EXIT_CODE)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Demo(args) => commands::demo::run(args, config).await,
        Command::Serve(args) => commands::serve::run(args, config, false).await,
        Command::Collect(args) => commands::serve::run(args, config, true).await,
        Command::Process(args) => commands::process::run(args, config).await,
        Command::Merge(args) => commands::process::merge(args, config).await,
        Command::Render(args) => commands::render::run(args, config).await,
        Command::Snapshot(args) => commands::snapshot::run(args, config).await,
        Command::Export(args) => commands::export::run(args, config).await,
        Command::Token(args) => commands::token::run(args, config).await,
        Command::Forget(args) => commands::forget::run(args, config).await,
        Command::Retention(args) => commands::retention::run(args, config).await,
        Command::Fixtures(args) => commands::fixtures::run(args).await,
    }
}
