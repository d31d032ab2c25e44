//! `process_day` on fixture traffic in a local store, as one collector at its default seal age
//! stores it: wall time per run, events per second.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use heatpipe_benches::{BENCH_DATE, BENCH_SITE, bench_seal_age_ms, traffic_at_bench_day_rate};
use heatpipe_core::keys::parse_date;
use heatpipe_fixtures::write_sealed_chunks;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};

fn process(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path()).expect("store"));
    let mut streams = traffic_at_bench_day_rate(4000);
    let events: u64 = streams.iter().map(|s| s.num_events() as u64).sum();
    runtime
        .block_on(write_sealed_chunks(
            store.as_ref(),
            BENCH_SITE,
            "bench",
            &mut streams,
            bench_seal_age_ms(),
        ))
        .expect("write fixtures");
    let options = ProcessOptions::new(BENCH_SITE, parse_date(BENCH_DATE).expect("date"));
    let mut group = c.benchmark_group("process_day");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("4000 sessions, local store", |b| {
        b.iter(|| {
            runtime
                .block_on(process_day(store.clone(), &options))
                .expect("process")
        })
    });
    group.finish();
}

criterion_group!(benches, process);
criterion_main!(benches);
