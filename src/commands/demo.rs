//! `heatpipe demo`: a local store, synthetic traffic for today, the demo site with the tracker,
//! processing every few seconds, and the viewer — all on 127.0.0.1.

use anyhow::Context;
use chrono::{DateTime, Utc};
use heatpipe_core::keys::{date_start_ms, raw_day_prefix};
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::ObjectStore;
use heatpipe_processor::process_day;
use tokio::net::TcpListener;

use super::{shutdown_signal, store_at};
use crate::cli::DemoArgs;
use crate::config::Config;
use crate::server::{ServeOptions, serve};

/// The demo's site name.
pub const DEMO_SITE: &str = "demo";
/// Collector id of the synthetic chunks, so a rerun replaces them instead of adding more.
const SYNTHETIC_COLLECTOR: &str = "synthetic";

/// Runs the demo until Ctrl-C.
pub async fn run(args: DemoArgs, mut config: Config) -> anyhow::Result<()> {
    let listener = bind_or_any_port(&args.listen).await?;
    let address = listener.local_addr()?;
    let origin = format!("http://{address}");
    config.store = args.store.clone();
    config.process_every_s = args.process_every;
    // Short sealing so a visitor's own clicks reach the heatmap within one processing pass.
    config.collector.seal_age_ms = 2_000;
    let store = store_at(&config.store).await?;

    let now = chrono::Utc::now();
    let today = now.date_naive();
    let events = write_synthetic_traffic(store.as_ref(), &args, &origin, now).await?;
    let summary = process_day(store.clone(), &config.processor.options(DEMO_SITE, today))
        .await
        .context("processing the demo day")?;
    println!(
        "heatpipe demo: {} synthetic sessions ({events} events) in {}; {}",
        args.sessions,
        config.store,
        summary.line()
    );
    let ready_message = format!(
        "\n  viewer:    {origin}/\n  demo site: {origin}/demo/   (click around, then look again in ~{} s)\n\nCtrl-C to stop.",
        args.process_every + 2
    );
    serve(
        store,
        &config,
        ServeOptions {
            demo_site: Some(DEMO_SITE.into()),
            ready_message: Some(ready_message),
        },
        listener,
        shutdown_signal(),
    )
    .await
    .context("serving the demo")?;
    Ok(())
}

/// Binds `listen`, or any free port of 127.0.0.1 when it is taken.
async fn bind_or_any_port(listen: &str) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(listen).await {
        Ok(listener) => Ok(listener),
        Err(err) => {
            eprintln!("{listen} is not free ({err}); using another port");
            TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding 127.0.0.1")
        }
    }
}

/// Replaces today's synthetic chunks with `args.sessions` seeded sessions served from `origin`,
/// started between midnight and `now`; returns how many events they hold.
async fn write_synthetic_traffic(
    store: &dyn ObjectStore,
    args: &DemoArgs,
    origin: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let today = now.date_naive();
    let start = date_start_ms(today);
    let end = now.timestamp_millis().max(start + 60_000);
    for stale in store.list(&raw_day_prefix(DEMO_SITE, today)).await? {
        if stale.key.contains(&format!("/{SYNTHETIC_COLLECTOR}-")) {
            store.delete(&stale.key).await?;
        }
    }
    let streams = generate_traffic(&TrafficSpec {
        seed: args.seed,
        origin: origin.to_owned(),
        num_sessions: args.sessions,
        window_ms: start..end,
    });
    let events: usize = streams.iter().map(|s| s.num_events()).sum();
    write_chunks(store, DEMO_SITE, SYNTHETIC_COLLECTOR, &streams, 200)
        .await
        .context("writing synthetic traffic")?;
    Ok(events)
}
