//! Chunk encode and decode throughput on fixture traffic, in events per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use heatpipe_benches::bench_traffic;
use heatpipe_core::chunk::{DEFAULT_ZSTD_LEVEL, decode_chunk, encode_chunk};
use std::hint::black_box;

fn chunk_codec(c: &mut Criterion) {
    let streams = bench_traffic(500);
    let events: u64 = streams.iter().map(|s| s.num_events() as u64).sum();
    let Ok(encoded) = encode_chunk(&streams, DEFAULT_ZSTD_LEVEL) else {
        panic!("fixture traffic encodes")
    };
    let mut group = c.benchmark_group("chunk");
    group.throughput(Throughput::Elements(events));
    group.bench_function("encode", |b| {
        b.iter(|| encode_chunk(black_box(&streams), DEFAULT_ZSTD_LEVEL))
    });
    group.bench_function("decode", |b| b.iter(|| decode_chunk(black_box(&encoded))));
    group.finish();
}

criterion_group!(benches, chunk_codec);
criterion_main!(benches);
