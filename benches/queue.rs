//! Micro-benchmark of making a message durable: the queue write plus the flush before 250.
//!
//! `per_message_flush`: every writer writes then flushes on its own (what a spool without
//! group commit does). `group_commit_N`: N sessions call `Queue::enqueue` at once and share
//! flushes. Each iteration stores N messages of 1 KiB; criterion reports per message.
//! The spool lives under /tmp (a real disk here, not tmpfs), so flushes are real fsyncs.
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use postern::queue::{Content, Envelope, Queue, QueueId, Recipient, SledSpool, Spool};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn envelope() -> Envelope {
    Envelope::new(QueueId::generate(), "a@example.org", vec![Recipient::new("b@example.net")])
}

fn bench(c: &mut Criterion) {
    let body = vec![b'x'; 1024];
    let mut g = c.benchmark_group("queue_write_flush_1KiB");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for writers in [1usize, 16] {
        g.throughput(Throughput::Elements(writers as u64));
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let spool = Arc::new(SledSpool::open(dir.path()).unwrap());
        g.bench_function(BenchmarkId::new("per_message_flush", writers), |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    std::thread::scope(|s| {
                        for _ in 0..writers {
                            s.spawn(|| {
                                spool.put(&envelope(), &Content::inline(body.clone())).unwrap();
                                spool.flush().unwrap();
                            });
                        }
                    });
                }
                t.elapsed()
            })
        });
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let queue = rt.block_on(async { Queue::open(dir.path()).unwrap() });
        g.bench_function(BenchmarkId::new("group_commit", writers), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        let tasks: Vec<_> = (0..writers)
                            .map(|_| {
                                let (q, body) = (queue.clone(), body.clone());
                                tokio::spawn(async move { q.enqueue(envelope(), Content::inline(body)).await.unwrap() })
                            })
                            .collect();
                        for t in tasks {
                            t.await.unwrap();
                        }
                    }
                    t.elapsed()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
