//! A collector rig for fault tests: the real `heatpipe collect` binary with its log on a small
//! `tmpfs` and its store a real S3-compatible server on 127.0.0.1 (reached through the AWS
//! environment variables), killed and restarted on the same log, stopped gracefully at the end.
//! Each process's stderr is kept in `collector-N.log` of the rig's folder.

use std::sync::Arc;
use std::time::{Duration, Instant};

use heatpipe_fixtures::s3_server::S3TestServer;

use super::collector_process::CollectorProcess;
use super::target::Target;
use super::tmpfs::Tmpfs;

/// The collector's processes, their log and their store. Fields drop in order: the process
/// first, the folder (which holds the mount point) last.
pub struct Rig {
    collector: Option<CollectorProcess>,
    pub s3: S3TestServer,
    pub target: Arc<Target>,
    /// Processes started.
    pub starts: usize,
    /// Time between each kill and its restart's address line, summed.
    pub down_for: Duration,
    /// Batches the log held (not yet stored, or stored but not yet deleted) after each kill.
    pub logged_at_kills: Vec<usize>,
    log_disk: Tmpfs,
    folder: tempfile::TempDir,
}

impl Rig {
    /// Mounts a `log_disk` (`1m`…) `tmpfs` for the log, starts an S3 server with `bucket` and a
    /// collector on `s3://{bucket}/{prefix}`.
    pub async fn new(log_disk: &str, bucket: &str, prefix: &str) -> Rig {
        let folder = tempfile::tempdir().expect("tempdir");
        let log_disk = Tmpfs::mount(&folder.path().join("wal"), log_disk);
        let s3 = S3TestServer::start(&folder.path().join("s3"), bucket)
            .await
            .expect("s3 server");
        let config = format!(
            "store = \"s3://{bucket}/{prefix}\"\n[collector]\nwal_dir = {:?}\nseal_age_ms = 100\n\
             seal_size_bytes = 65536\nmax_pending_bytes = 1073741824\n\
             shutdown_timeout_ms = 60000\nrate_limit_per_s = 0\n",
            log_disk.path.display().to_string()
        );
        std::fs::write(folder.path().join("heatpipe.toml"), config).expect("config");
        let mut rig = Rig {
            folder,
            log_disk,
            s3,
            target: Arc::new(Target::default()),
            collector: None,
            starts: 0,
            down_for: Duration::ZERO,
            logged_at_kills: Vec::new(),
        };
        rig.start().await;
        rig
    }

    /// Starts a collector process (off the runtime: it waits for the address line).
    async fn start(&mut self) {
        let settings = self.s3.settings();
        let envs = vec![
            ("AWS_ENDPOINT_URL", settings.endpoint_url.expect("endpoint")),
            ("AWS_REGION", settings.region),
            ("AWS_ACCESS_KEY_ID", settings.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", settings.secret_access_key),
            ("RUST_LOG", "warn".to_owned()),
        ];
        self.starts += 1;
        let config = self.folder.path().join("heatpipe.toml");
        let log = self
            .folder
            .path()
            .join(format!("collector-{}.log", self.starts));
        let collector = tokio::task::spawn_blocking(move || {
            CollectorProcess::start(&config, &envs, Some(&log))
        })
        .await
        .expect("join");
        self.target.up(&collector.url, collector.pid());
        self.collector = Some(collector);
    }

    /// SIGKILL, and a new process at once on the same log (after counting the batches the
    /// dead process left in it).
    pub async fn kill_and_restart(&mut self) {
        let down = Instant::now();
        self.target.down();
        let collector = self.collector.take().expect("running");
        tokio::task::spawn_blocking(move || collector.kill())
            .await
            .expect("join");
        let logged = self.batches_in_log();
        self.start().await;
        self.down_for += down.elapsed();
        self.logged_at_kills.push(logged);
    }

    /// SIGTERM, which uploads what the log holds before exiting.
    pub async fn stop(&mut self) {
        self.target.down();
        let collector = self.collector.take().expect("running");
        let status = tokio::task::spawn_blocking(move || collector.terminate())
            .await
            .expect("join");
        assert!(status.success(), "graceful stop exits 0: {status}");
    }

    /// Batches in the log's segments (read as a restart would), of every collector id.
    pub fn batches_in_log(&self) -> usize {
        heatpipe_collector::wal::existing_segments(&self.log_disk.path)
            .expect("log folder")
            .iter()
            .map(|segment| {
                let bytes = std::fs::read(&segment.path).unwrap_or_default();
                heatpipe_collector::wal::read_segment(&bytes).0.len()
            })
            .sum()
    }

    /// Segments left in the log, of every collector id.
    pub fn segments_in_log(&self) -> usize {
        heatpipe_collector::wal::existing_segments(&self.log_disk.path)
            .expect("log folder")
            .len()
    }

    /// Everything the collector processes wrote to stderr.
    pub fn collector_logs(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                let path = self.folder.path().join(format!("collector-{n}.log"));
                std::fs::read_to_string(path).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
