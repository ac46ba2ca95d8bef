//! Micro-benchmarks of the I/O-free SMTP code: the command parser (commands/s) and the
//! DATA reader / BDAT line checker (MB/s) on 1 KiB and 100 KB messages fed in 16 KiB reads.
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use postern::proto::smtp::command::parse;
use postern::proto::smtp::data::{BareNewline, DataReader, LineChecker, dot_stuff};
use std::hint::black_box;

const COMMANDS: &[&[u8]] = &[
    b"EHLO client.example.org",
    b"MAIL FROM:<sender@example.org> SIZE=10240 BODY=8BITMIME",
    b"RCPT TO:<rcpt@example.net> NOTIFY=FAILURE ORCPT=rfc822;rcpt@example.net",
    b"RCPT TO:<\"quoted local\"@[192.0.2.1]>",
    b"DATA",
    b"BDAT 65536 LAST",
    b"QUIT",
];

fn commands(c: &mut Criterion) {
    let mut g = c.benchmark_group("command_parse");
    g.throughput(Throughput::Elements(COMMANDS.len() as u64));
    g.bench_function("typical_session_commands", |b| {
        b.iter(|| {
            for line in COMMANDS {
                let _ = black_box(parse(black_box(line)));
            }
        })
    });
    g.finish();
}

/// A message of about `size` bytes in 78-octet lines, some starting with a dot.
fn message(size: usize) -> Vec<u8> {
    let mut body = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n".to_vec();
    let mut i = 0;
    while body.len() < size {
        body.extend_from_slice(if i % 10 == 0 { b".leading dot line " } else { b"an ordinary line " });
        body.extend_from_slice(&[b'x'; 58]);
        body.extend_from_slice(b"\r\n");
        i += 1;
    }
    body
}

fn data(c: &mut Criterion) {
    let mut g = c.benchmark_group("data_reader");
    for size in [1024usize, 100_000] {
        let body = message(size);
        let mut wire = Vec::new();
        dot_stuff(&body, &mut wire);
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_with_input(BenchmarkId::new("DATA_unstuff", size), &wire, |b, wire| {
            let mut out = Vec::with_capacity(wire.len());
            b.iter(|| {
                out.clear();
                let mut r = DataReader::new(50 << 20, BareNewline::default());
                for chunk in wire.chunks(16 * 1024) {
                    r.feed(chunk, &mut out);
                }
                assert!(r.is_done());
                black_box(r.finish())
            })
        });
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("BDAT_check", size), &body, |b, body| {
            b.iter(|| {
                let mut c = LineChecker::new(50 << 20, BareNewline::default());
                for chunk in body.chunks(16 * 1024) {
                    c.check(chunk);
                }
                black_box(c.finish())
            })
        });
        g.bench_with_input(BenchmarkId::new("dot_stuff", size), &body, |b, body| {
            let mut out = Vec::with_capacity(body.len() * 2);
            b.iter(|| {
                out.clear();
                dot_stuff(black_box(body), &mut out);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, commands, data);
criterion_main!(benches);
