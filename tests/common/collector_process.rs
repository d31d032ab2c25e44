//! The real `heatpipe collect` binary as a child process: started with a configuration file on
//! 127.0.0.1 with a free port, killed with SIGKILL or stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

/// A running `heatpipe collect`; killed when dropped, so a failing test leaves no process.
pub struct CollectorProcess {
    child: Option<Child>,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    // Kept open so that the process never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl CollectorProcess {
    /// Starts `heatpipe --config CONFIG collect --listen 127.0.0.1:0` with `envs` added to its
    /// environment and its stderr appended to `stderr_log` (else discarded); returns once it
    /// prints the address it listens on.
    pub fn start(config: &Path, envs: &[(&str, String)], stderr_log: Option<&Path>) -> Self {
        let stderr = match stderr_log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("collector log file"),
            ),
            None => Stdio::null(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_heatpipe"))
            .arg("--config")
            .arg(config)
            .args(["collect", "--listen", "127.0.0.1:0"])
            .envs(envs.iter().map(|(name, value)| (name, value)))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start heatpipe collect");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in the collector's first line {line:?}"))
            .to_owned();
        CollectorProcess {
            child: Some(child),
            url,
            _stdout: stdout,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("reap");
        }
    }

    /// SIGTERM (a graceful stop), and waits for the process to exit; returns its status.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "kill -TERM failed");
        child.wait().expect("wait")
    }
}

impl Drop for CollectorProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
