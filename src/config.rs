//! The one configuration of the `heatpipe` command: defaults, then a TOML file, then
//! `HEATPIPE_*` environment variables, then flags.

use std::path::Path;

use anyhow::Context;
use heatpipe_collector::CollectorConfig;
use heatpipe_processor::{ProcessorConfig, RetentionConfig};
use heatpipe_renderer::RendererConfig;
use serde::Deserialize;

/// Everything the `heatpipe` command can be told.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where data lives: a folder, or `s3://bucket/prefix` (S3 settings from the AWS sources).
    pub store: String,
    /// Address the server listens on.
    pub listen: String,
    /// `serve` only: a separate address for the read API, share links and the viewer, which
    /// then are not on `listen` (and the collector's routes are not on this one).
    pub read_listen: Option<String>,
    /// Seconds between processing passes in `serve` and `demo`; 0 turns them off.
    pub process_every_s: u64,
    pub collector: CollectorConfig,
    pub processor: ProcessorConfig,
    pub renderer: RendererConfig,
    /// How many days each lane keeps (`heatpipe retention`, and `serve` once a day).
    pub retention: RetentionConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: "./data".into(),
            listen: "127.0.0.1:8080".into(),
            read_listen: None,
            process_every_s: 60,
            collector: CollectorConfig::default(),
            processor: ProcessorConfig::default(),
            renderer: RendererConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl Config {
    /// Loads the defaults, overridden by the TOML file at `path` (if given), then by the
    /// environment (`HEATPIPE_STORE`, `HEATPIPE_LISTEN`, `HEATPIPE_PROCESS_EVERY_S`,
    /// `HEATPIPE_RETENTION_RAW_DAYS`, `HEATPIPE_RETENTION_SESSIONS_DAYS`,
    /// `HEATPIPE_RETENTION_AGGREGATES_DAYS`).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_environment(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Applies `HEATPIPE_*` variables as read by `lookup`.
    pub fn apply_environment(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<()> {
        if let Some(store) = lookup("HEATPIPE_STORE") {
            self.store = store;
        }
        if let Some(listen) = lookup("HEATPIPE_LISTEN") {
            self.listen = listen;
        }
        if let Some(every) = lookup("HEATPIPE_PROCESS_EVERY_S") {
            self.process_every_s = every.parse().with_context(|| {
                format!("HEATPIPE_PROCESS_EVERY_S must be whole seconds, got {every:?}")
            })?;
        }
        let retention = &mut self.retention;
        for (name, days) in [
            ("HEATPIPE_RETENTION_RAW_DAYS", &mut retention.raw_days),
            (
                "HEATPIPE_RETENTION_SESSIONS_DAYS",
                &mut retention.sessions_days,
            ),
            (
                "HEATPIPE_RETENTION_AGGREGATES_DAYS",
                &mut retention.aggregates_days,
            ),
        ] {
            if let Some(value) = lookup(name) {
                *days = value
                    .parse()
                    .with_context(|| format!("{name} must be whole days, got {value:?}"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_the_defaults() {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("heatpipe.toml");
        std::fs::write(
            &path,
            "store = \"s3://bucket/p\"\nprocess_every_s = 5\n[collector]\nseal_age_ms = 250\n[processor]\nsegment_tags = [\"tier\"]\n[retention]\nraw_days = 7\n",
        )
        .expect("write");
        let mut config = Config::load(Some(&path)).expect("load");
        assert_eq!(
            (
                config.store.as_str(),
                config.process_every_s,
                config.collector.seal_age_ms
            ),
            ("s3://bucket/p", 5, 250)
        );
        assert_eq!(config.processor.segment_tags, ["tier"]);
        assert_eq!(
            config.retention,
            RetentionConfig {
                raw_days: 7,
                ..RetentionConfig::default()
            }
        );
        config
            .apply_environment(|name| match name {
                "HEATPIPE_LISTEN" => Some("127.0.0.1:9999".to_owned()),
                "HEATPIPE_RETENTION_SESSIONS_DAYS" => Some("60".to_owned()),
                _ => None,
            })
            .expect("env");
        assert_eq!(config.listen, "127.0.0.1:9999");
        assert_eq!(
            (
                config.retention.raw_days,
                config.retention.sessions_days,
                config.retention.aggregates_days
            ),
            (7, 60, 395)
        );
        assert!(config.apply_environment(|_| Some("x".into())).is_err());
        std::fs::write(&path, "unknown_key = 1\n").expect("write");
        assert!(
            Config::load(Some(&path)).is_err(),
            "unknown keys are refused"
        );
    }
}
