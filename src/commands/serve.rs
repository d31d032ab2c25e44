//! `heatpipe serve` and `heatpipe collect`.

use std::sync::Arc;

use anyhow::Context;
use heatpipe_io::store::ObjectStore;
use tokio::net::TcpListener;

use super::{shutdown_signal, store_at};
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::server::{Listeners, ServeOptions, serve};

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
        config.collector.wal_dir = Some(wal_dir);
    }
    apply_read_listen(args.read_listen, &mut config, collector_only)?;
    let store = store_at(&config.store).await?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr()?;
    if collector_only {
        let visitor_keys = heatpipe_collector::identify::VisitorKeys::new(store.clone());
        let collector = heatpipe_collector::Collector::open(store, config.collector.clone())
            .context("opening the collector's write-ahead log")?;
        println!(
            "heatpipe collector on http://{address} (store {})",
            config.store
        );
        heatpipe_collector::serve_with(collector, Some(visitor_keys), listener, shutdown_signal())
            .await;
    } else {
        let listeners = read_side_listeners(listener, &config).await?;
        refuse_unprotected_read_side(&store, &listeners, &config.store).await?;
        let ready_message = match &listeners.read {
            None => format!(
                "heatpipe on http://{address} (store {}); viewer at http://{address}/",
                config.store
            ),
            Some(read) => format!(
                "heatpipe collector on http://{address} (store {}); read API and viewer on http://{}/",
                config.store,
                read.local_addr()?
            ),
        };
        let options = ServeOptions {
            ready_message: Some(ready_message),
            ..ServeOptions::default()
        };
        serve(store, &config, options, listeners, shutdown_signal())
            .await
            .context("serving")?;
    }
    Ok(())
}

/// Takes `--read-listen` into the configuration; `collect` has no read side to put there.
fn apply_read_listen(
    flag: Option<String>,
    config: &mut Config,
    collector_only: bool,
) -> anyhow::Result<()> {
    if collector_only {
        anyhow::ensure!(
            flag.is_none(),
            "collect serves no read side; --read-listen is for serve"
        );
        return Ok(());
    }
    if flag.is_some() {
        config.read_listen = flag;
    }
    Ok(())
}

/// Binds `read_listen`, if set, beside the collector's listener.
async fn read_side_listeners(main: TcpListener, config: &Config) -> anyhow::Result<Listeners> {
    let read = match &config.read_listen {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .with_context(|| format!("binding --read-listen {address}"))?,
        ),
        None => None,
    };
    Ok(Listeners { main, read })
}

/// Refuses to serve the read side on an address other than loopback while no API token exists:
/// anyone reaching it could read everything.
async fn refuse_unprotected_read_side(
    store: &Arc<dyn ObjectStore>,
    listeners: &Listeners,
    location: &str,
) -> anyhow::Result<()> {
    let read_address = listeners
        .read
        .as_ref()
        .unwrap_or(&listeners.main)
        .local_addr()?;
    if read_address.ip().is_loopback() {
        return Ok(());
    }
    let tokens = heatpipe_renderer::auth::list_tokens(store)
        .await
        .with_context(|| format!("reading the API tokens of {location}"))?;
    anyhow::ensure!(
        !tokens.is_empty(),
        "the read API would be open on {read_address}, which is not loopback, and no API token \
         exists: create one with `heatpipe token create --store {location} --name NAME --scope \
         admin`, or keep the read side on loopback (--read-listen 127.0.0.1:8081)"
    );
    Ok(())
}
