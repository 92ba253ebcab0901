//! Transform speed against `serde_json` parsing the same bytes to a `Value`.
//!
//! Run with `cargo bench -p chaoslab-etl --bench transform`. Figures go in BENCHMARKS.md.

use std::hint::black_box;

use chaoslab_etl::transform::json_to_csv;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// A message shaped like the publisher's, about 200 bytes.
fn lab_message(id: u64) -> Vec<u8> {
    let symbols = ["ABCD", "WXYZ", "QRST", "MNOP"];
    format!(
        r#"{{"symbol":"{}","messageId":{id},"value":{}.{:02},"objectName":"data_object_msg-{id}","submissionDate":"24-Nov-2026 19:{:02}:{:02}","author":"chaoslab-publisher@workshop.example","version":"1.0.{}"}}"#,
        symbols[(id % 4) as usize],
        100 + id % 900,
        id % 100,
        id / 60 % 60,
        id % 60,
        id % 10,
    )
    .into_bytes()
}

/// An array of lab messages of about 1 MiB.
fn one_mebibyte_document() -> Vec<u8> {
    let mut document = b"[".to_vec();
    let mut id = 0;
    while document.len() < 1024 * 1024 {
        if id > 0 {
            document.push(b',');
        }
        document.extend(lab_message(id));
        id += 1;
    }
    document.push(b']');
    document
}

fn small_documents(c: &mut Criterion) {
    let messages: Vec<Vec<u8>> = (1..=1024).map(lab_message).collect();
    let average = messages.iter().map(Vec::len).sum::<usize>() / messages.len();
    let mut group = c.benchmark_group(format!("lab message ({average} bytes)"));
    group.throughput(Throughput::Elements(1));
    let mut next = messages.iter().cycle();
    group.bench_function("transform to CSV", |b| {
        b.iter(|| json_to_csv(black_box(next.next().map_or(&[][..], Vec::as_slice))))
    });
    let mut next = messages.iter().cycle();
    group.bench_function("serde_json parse to Value", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde_json::Value>(black_box(
                next.next().map_or(&[][..], Vec::as_slice),
            ))
        })
    });
    group.finish();
}

fn large_document(c: &mut Criterion) {
    let document = one_mebibyte_document();
    let mut group = c.benchmark_group("array document (1 MiB)");
    group.throughput(Throughput::Bytes(document.len() as u64));
    group.sample_size(30);
    group.bench_function("transform to CSV", |b| {
        b.iter_batched(
            || (),
            |()| json_to_csv(black_box(&document)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("serde_json parse to Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&document)))
    });
    group.finish();
}

criterion_group!(benches, small_documents, large_document);
criterion_main!(benches);
