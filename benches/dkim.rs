//! Micro-benchmark of DKIM signing (relaxed/relaxed, the daemon's signer) with RSA-2048
//! and Ed25519 keys made by `postern::dkim::keygen`, on 1 KiB and 100 KB messages.
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use postern::dkim::{Algorithm, DkimKeyConfig, DkimSigner, keygen};
use std::hint::black_box;

fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: Sender <a@example.com>\r\nTo: b@example.net\r\nSubject: bench\r\n\
Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\n\r\n"
        .to_vec();
    while m.len() < size {
        m.extend_from_slice(&[b'x'; 76]);
        m.extend_from_slice(b"\r\n");
    }
    m
}

fn sign(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("dkim_sign");
    for (name, alg) in [("rsa2048", Algorithm::Rsa2048), ("ed25519", Algorithm::Ed25519)] {
        let key = keygen("example.com", name, alg, dir.path()).unwrap();
        let cfg = DkimKeyConfig { domain: "example.com".into(), selector: name.into(), key: key.path };
        let signer = DkimSigner::load(&[cfg]).unwrap();
        for size in [1024usize, 100_000] {
            let msg = message(size);
            g.throughput(Throughput::Elements(1));
            g.bench_with_input(BenchmarkId::new(name, size), &msg, |b, msg| {
                b.iter(|| black_box(signer.sign(black_box(msg)).unwrap().expect("signed")))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, sign);
criterion_main!(benches);
