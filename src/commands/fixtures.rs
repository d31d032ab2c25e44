//! `heatpipe fixtures`: seeded synthetic traffic into a store (as chunks) or into a collector
//! (as native batches over HTTP).

use anyhow::{Context, bail};
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_core::wire::NativeBatch;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};

use super::store_at;
use crate::cli::FixturesArgs;

/// Streams per chunk when writing straight into a store.
const STREAMS_PER_CHUNK: usize = 500;

/// Generates the traffic and delivers it; prints what was written.
pub async fn run(args: FixturesArgs) -> anyhow::Result<()> {
    let date = match &args.date {
        Some(value) => parse_date(value).context("--date")?,
        None => chrono::Utc::now().date_naive(),
    };
    let start = date_start_ms(date);
    let streams = generate_traffic(&TrafficSpec {
        seed: args.seed,
        origin: args.origin.clone(),
        num_sessions: args.sessions,
        window_ms: start..start + 86_400_000,
    });
    let events: usize = streams.iter().map(Stream::num_events).sum();
    match (&args.store, &args.url) {
        (Some(store), None) => {
            let store = store_at(store).await?;
            let keys = write_chunks(
                store.as_ref(),
                &args.site,
                &format!("fixtures{}", args.seed),
                &streams,
                STREAMS_PER_CHUNK,
            )
            .await?;
            println!(
                "{} sessions, {} batches, {events} events in {} chunks",
                args.sessions,
                streams.len(),
                keys.len()
            );
        }
        (None, Some(url)) => {
            post_batches(url, &args.site, &streams).await?;
            println!(
                "{} sessions, {} batches, {events} events posted to {url}",
                args.sessions,
                streams.len()
            );
        }
        _ => bail!("give --store or --url"),
    }
    Ok(())
}

async fn post_batches(url: &str, site: &str, streams: &[Stream]) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let endpoint = format!("{}/v1/collect", url.trim_end_matches('/'));
    for stream in streams {
        let body = serde_json::to_vec(&NativeBatch::from_stream(site, stream))?;
        let response = client
            .post(&endpoint)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .with_context(|| format!("posting to {endpoint}"))?;
        if !response.status().is_success() {
            let status = response.status();
            bail!(
                "collector answered {status}: {}",
                response.text().await.unwrap_or_default()
            );
        }
    }
    Ok(())
}
