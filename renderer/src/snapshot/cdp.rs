//! Just enough of the Chrome DevTools Protocol to drive one headless Chromium: start it on a
//! loopback debugging port, send commands to a page session and wait for their answers or for an
//! event. The browser process is killed when the [`Browser`] is dropped.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::SnapshotError;

/// The flags every headless run gets: no sandbox (containers), no GPU, no background traffic.
pub const HEADLESS_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--no-first-run",
    "--mute-audio",
];

/// A running headless Chromium and a connection to its browser endpoint.
pub struct Browser {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events that arrived while waiting for a command's answer, for [`Browser::wait_for`].
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromium` with a fresh profile and connects to it within `timeout`.
    pub async fn launch(chromium: &Path, timeout: Duration) -> Result<Browser, SnapshotError> {
        let profile = tempfile::tempdir().map_err(|err| SnapshotError::Launch(err.to_string()))?;
        let mut child = Command::new(chromium)
            .args(HEADLESS_FLAGS)
            .arg("--remote-debugging-address=127.0.0.1")
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| SnapshotError::Launch(format!("{}: {err}", chromium.display())))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| SnapshotError::Launch("no stderr from chromium".into()))?;
        let endpoint = tokio::time::timeout(timeout, async {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let url = url.trim().to_owned();
                    // Keep draining stderr so the browser never blocks on a full pipe.
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return Some(url);
                }
            }
            None
        })
        .await
        .map_err(|_| SnapshotError::Launch("chromium did not open its debugging port".into()))?
        .ok_or_else(|| SnapshotError::Launch("chromium exited before it was ready".into()))?;
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .map_err(|err| SnapshotError::Protocol(format!("connecting to {endpoint}: {err}")))?;
        Ok(Browser {
            child,
            socket,
            next_id: 1,
            events: VecDeque::new(),
            _profile: profile,
        })
    }

    /// Sends `method` (to `session`, or to the browser) and returns its result.
    pub async fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, SnapshotError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .map_err(|err| SnapshotError::Protocol(format!("{method}: {err}")))?;
        loop {
            let reply = self.next_message().await?;
            if reply["id"].as_u64() == Some(id) {
                if let Some(error) = reply.get("error") {
                    return Err(SnapshotError::Protocol(format!("{method}: {error}")));
                }
                return Ok(reply["result"].clone());
            }
            if reply.get("method").is_some() {
                self.events.push_back(reply);
            }
        }
    }

    /// Forgets the events received so far: [`Browser::wait_for`] then waits for a new one.
    pub fn forget_events(&mut self) {
        self.events.clear();
    }

    /// Waits for the event `method` from `session` (one received since the last
    /// [`Browser::forget_events`], or a new one).
    pub async fn wait_for(&mut self, session: &str, method: &str) -> Result<Value, SnapshotError> {
        let wanted =
            |message: &Value| message["method"] == method && message["sessionId"] == session;
        if let Some(position) = self.events.iter().position(wanted) {
            let mut earlier: VecDeque<Value> = self.events.drain(..=position).collect();
            return Ok(earlier
                .pop_back()
                .map_or(Value::Null, |m| m["params"].clone()));
        }
        self.events.clear();
        loop {
            let message = self.next_message().await?;
            if message["method"] == method && message["sessionId"] == session {
                return Ok(message["params"].clone());
            }
        }
    }

    async fn next_message(&mut self) -> Result<Value, SnapshotError> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .map_err(|err| SnapshotError::Protocol(err.to_string()));
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(SnapshotError::Protocol(err.to_string())),
                None => {
                    return Err(SnapshotError::Protocol(
                        "chromium closed the connection".into(),
                    ));
                }
            }
        }
    }

    /// Closes the browser and waits for it to exit.
    pub async fn close(mut self) {
        let _ = self.call(None, "Browser.close", json!({})).await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
