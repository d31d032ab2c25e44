//! Hostile requests for soak tests, sent over a raw TCP connection so that a body can be huge,
//! slow or cut short: each must get its 4xx JSON error and never take the server down.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::target::Target;

/// How the body of a hostile request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// At once.
    Whole,
    /// In five pieces, 200 ms apart.
    Slow,
    /// Headers only, announcing this many bytes.
    HeadersOnly(usize),
    /// Half of the body, then the connection's sending side is shut.
    CutShort,
}

/// The answer a hostile request must get, always with a JSON error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this status.
    Status(u16),
}

impl Expect {
    fn allows(self, status: u16) -> bool {
        match self {
            Expect::Status(expected) => status == expected,
        }
    }
}

/// One hostile request and the answer it must get.
#[derive(Debug, Clone)]
pub struct Hostile {
    pub name: &'static str,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Vec<u8>,
    pub delivery: Delivery,
    pub expect: Expect,
}

fn hostile(name: &'static str, body: Vec<u8>, status: u16) -> Hostile {
    Hostile {
        name,
        headers: vec![("content-type", "application/json")],
        body,
        delivery: Delivery::Whole,
        expect: Expect::Status(status),
    }
}

/// The hostile requests, around `valid` (a valid batch's JSON, which is edited into invalid
/// ones; its session id should never be stored).
pub fn requests(valid: &[u8]) -> Vec<Hostile> {
    let text = String::from_utf8(valid.to_vec()).expect("utf-8");
    let edit = |from: &str, to: &str| {
        assert!(text.contains(from), "{from} not in the batch");
        text.replacen(from, to, 1).into_bytes()
    };
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; 10 << 20]).expect("gzip");
    vec![
        hostile("garbage JSON", b"{\"site\": \"soak\", \"sess".to_vec(), 400),
        hostile(
            "unknown field",
            edit("\"seq\":", "\"bogus\":1,\"seq\":"),
            400,
        ),
        hostile("oversized number", edit("\"seq\":0", "\"seq\":1e400"), 400),
        hostile(
            "number past u64",
            edit("\"seq\":0", "\"seq\":99999999999999999999999"),
            400,
        ),
        Hostile {
            headers: vec![("content-type", "application/xml")],
            ..hostile("wrong content type", valid.to_vec(), 415)
        },
        Hostile {
            headers: vec![
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            ..hostile("bad gzip", b"this is not gzip".to_vec(), 400)
        },
        Hostile {
            headers: vec![
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            ..hostile("gzip bomb", bomb.finish().expect("gzip"), 413)
        },
        Hostile {
            delivery: Delivery::HeadersOnly(64 << 20),
            ..hostile("huge body", Vec::new(), 413)
        },
        Hostile {
            delivery: Delivery::Slow,
            ..hostile("slow garbage body", vec![b'x'; 5_000], 400)
        },
        // The body ends before its content length.
        Hostile {
            delivery: Delivery::CutShort,
            ..hostile("body cut short", valid.to_vec(), 400)
        },
    ]
}

/// Answers to hostile requests, by request name and status (0: no answer).
#[derive(Debug, Default)]
pub struct HostileLog {
    pub statuses: BTreeMap<&'static str, BTreeMap<u16, usize>>,
    /// A wrong status, an answer that is not a JSON error, or no answer from a process that
    /// stayed up.
    pub unexpected: Vec<String>,
    pub sent: usize,
}

/// Sends the requests in turn, one every 50 ms, until `stop` is set.
pub async fn run(
    requests: Vec<Hostile>,
    target: Arc<Target>,
    log: Arc<Mutex<HostileLog>>,
    stop: Arc<AtomicBool>,
) {
    for request in requests.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some(up) = target.current() else {
            continue;
        };
        let answer = send(&up.url, request).await;
        let mut log = log.lock().expect("lock");
        log.sent += 1;
        let status = answer.as_ref().map_or(0, |(status, _)| *status);
        *log.statuses
            .entry(request.name)
            .or_default()
            .entry(status)
            .or_default() += 1;
        let problem = match answer {
            Ok((status, body)) if !request.expect.allows(status) => {
                Some(format!("status {status} {body}"))
            }
            Ok((_, body)) => match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(json) if json["error"]["message"].is_string() => None,
                _ => Some(format!("not a JSON error: {body}")),
            },
            Err(err) => target.still(&up).then(|| format!("no answer: {err}")),
        };
        if let Some(problem) = problem {
            log.unexpected.push(format!("{}: {problem}", request.name));
        }
    }
}

/// Sends `request` to the collector at `url` and returns the status and body of the answer.
async fn send(url: &str, request: &Hostile) -> std::io::Result<(u16, String)> {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await?;
    let length = match request.delivery {
        Delivery::HeadersOnly(length) => length,
        _ => request.body.len(),
    };
    let mut head = format!("POST /v1/collect HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n");
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {length}\r\n\r\n"));
    stream.write_all(head.as_bytes()).await?;
    match request.delivery {
        Delivery::Whole => stream.write_all(&request.body).await?,
        Delivery::Slow => {
            for piece in request.body.chunks(request.body.len().div_ceil(5)) {
                stream.write_all(piece).await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Delivery::HeadersOnly(_) => {}
        Delivery::CutShort => {
            stream.write_all(&request.body[..length / 2]).await?;
            stream.shutdown().await?;
        }
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .map_err(|_| std::io::Error::other("no answer in 10 s"))??;
    parse(&answer).ok_or_else(|| {
        std::io::Error::other(format!(
            "not an HTTP answer: {:?}",
            String::from_utf8_lossy(&answer)
        ))
    })
}

/// The status and body of an HTTP/1.1 answer (with a content length or chunked).
fn parse(answer: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(answer).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    if !chunked {
        return Some((status, body.to_owned()));
    }
    let (mut rest, mut out) = (body, String::new());
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return Some((status, out));
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}
