//! `heatpipe serve` and `heatpipe collect`.

use anyhow::Context;
use tokio::net::TcpListener;

use super::{shutdown_signal, store_at};
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::server::{ServeOptions, serve};

/// Runs collector and read API (or, with `collector_only`, just the collector) until a signal.
pub async fn run(args: ServeArgs, mut config: Config, collector_only: bool) -> anyhow::Result<()> {
    if let Some(store) = args.store {
        config.store = store;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(every) = args.process_every {
        config.process_every_s = every;
    }
    config.collector.sites.extend(args.sites);
    if let Some(wal_dir) = args.wal_dir {
        config.collector.wal_dir = wal_dir;
    }
    let store = store_at(&config.store).await?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr()?;
    if collector_only {
        println!(
            "heatpipe collector on http://{address} (store {})",
            config.store
        );
        let collector = heatpipe_collector::Collector::open(store, config.collector.clone())
            .with_context(|| {
                format!(
                    "opening the write-ahead log in {}",
                    config.collector.wal_dir.display()
                )
            })?;
        heatpipe_collector::serve(collector, listener, shutdown_signal()).await;
    } else {
        println!(
            "heatpipe on http://{address} (store {}); viewer at http://{address}/",
            config.store
        );
        serve(
            store,
            &config,
            ServeOptions::default(),
            listener,
            shutdown_signal(),
        )
        .await
        .with_context(|| {
            format!(
                "opening the write-ahead log in {}",
                config.collector.wal_dir.display()
            )
        })?;
    }
    Ok(())
}
