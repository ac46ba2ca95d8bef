//! A TCP relay between the client under test and a real server that records how the
//! client's bytes arrived (one entry per read), to observe PIPELINING batches.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct RecordingProxy {
    pub addr: SocketAddr,
    reads: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RecordingProxy {
    pub async fn start(target: SocketAddr) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reads = Arc::new(Mutex::new(Vec::new()));
        let log = reads.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(target).await.unwrap();
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        log.lock().unwrap().push(buf[..n].to_vec());
                    }
                    let _ = sw.shutdown().await;
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    let _ = cw.shutdown().await;
                });
            }
        });
        RecordingProxy { addr, reads }
    }

    /// Client-to-server reads so far, as lossy text.
    pub fn reads(&self) -> Vec<String> {
        self.reads
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    /// True if one read carried MAIL FROM, at least one RCPT TO and DATA together.
    pub fn saw_pipelined_envelope(&self) -> bool {
        self.reads()
            .iter()
            .any(|r| r.contains("MAIL FROM:") && r.contains("RCPT TO:") && r.contains("DATA\r\n"))
    }
}
