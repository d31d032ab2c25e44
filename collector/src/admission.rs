//! Who may send what: the configured sites with their allowed origins, sampling rates and DOM
//! replay settings, and per-client rate limits. With no site configured, every valid site name is
//! accepted from any origin. Client addresses only key the rate limiter in memory; they are never
//! written.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::IngestError;

/// One site the collector accepts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub id: String,
    /// Origins whose pages may send (`https://shop.example`); empty: any origin.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Share of sessions kept, 0..=1, decided per session so a session is kept whole.
    #[serde(default = "keep_all")]
    pub sample_rate: f64,
    /// DOM session replay: `"dom"` records it, `"off"` never does; unset, the tracker tag's
    /// `data-replay="dom"` decides.
    #[serde(default)]
    pub replay: Option<ReplayMode>,
    /// Selectors of elements whose text replays show as it is (every other text is masked).
    #[serde(default)]
    pub replay_public: Vec<String>,
    /// Selectors of images, videos, canvases and frames recorded as they are rather than as
    /// same-size placeholders.
    #[serde(default)]
    pub replay_media: Vec<String>,
}

/// Whether a site's pages record DOM replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayMode {
    /// Record the DOM (rrweb) besides the pointer streams.
    Dom,
    /// Never: the tracker loads no recorder and the collector drops DOM events.
    Off,
}

/// A site's replay settings, as the tracker receives them (`{replay, public, media}`) and as
/// the rrweb route applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplaySettings {
    /// The site's mode; `None`: the tag's `data-replay` attribute decides.
    #[serde(rename = "replay")]
    pub mode: Option<ReplayMode>,
    /// Selectors whose text may be shown.
    pub public: Vec<String>,
    /// Selectors of media recorded instead of placeholders.
    pub media: Vec<String>,
}

impl ReplaySettings {
    /// Whether DOM events of this site are kept (all but `"off"`: a tag may have asked for them).
    pub fn keeps_dom(&self) -> bool {
        self.mode != Some(ReplayMode::Off)
    }

    /// Whether these are the settings of a site with no replay configuration.
    pub fn is_default(&self) -> bool {
        *self == ReplaySettings::default()
    }
}

fn keep_all() -> f64 {
    1.0
}

impl SiteConfig {
    /// Parses a `--site` flag: `ID` or `ID=ORIGIN,ORIGIN…`.
    pub fn parse_flag(value: &str) -> Result<SiteConfig, String> {
        let (id, origins) = value.split_once('=').unwrap_or((value, ""));
        heatpipe_core::keys::validate_site(id).map_err(|e| e.to_string())?;
        let allowed_origins = origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(normalize_origin)
            .collect();
        Ok(SiteConfig {
            id: id.to_owned(),
            allowed_origins,
            sample_rate: 1.0,
            replay: None,
            replay_public: Vec::new(),
            replay_media: Vec::new(),
        })
    }
}

fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The admission rules of one collector.
#[derive(Debug)]
pub struct Admission {
    sites: HashMap<String, SiteConfig>,
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Admission {
    /// `rate_per_s` batches per second per client, with bursts of `burst`; 0 turns limits off.
    pub fn new(sites: &[SiteConfig], rate_per_s: u32, burst: u32) -> Admission {
        let limiter = NonZeroU32::new(rate_per_s).map(|rate| {
            let burst = NonZeroU32::new(burst.max(rate_per_s)).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        let sites = sites
            .iter()
            .map(|site| {
                let allowed_origins = site
                    .allowed_origins
                    .iter()
                    .map(|o| normalize_origin(o))
                    .collect();
                (
                    site.id.clone(),
                    SiteConfig {
                        allowed_origins,
                        ..site.clone()
                    },
                )
            })
            .collect();
        Admission { sites, limiter }
    }

    /// Returns the configured sites (empty: every site is accepted).
    pub fn site_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.sites.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Returns the replay settings of `site`; an unconfigured site's are the defaults (the tag
    /// decides, every text masked, every medium a placeholder).
    pub fn replay_settings(&self, site: &str) -> ReplaySettings {
        self.sites
            .get(site)
            .map(|config| ReplaySettings {
                mode: config.replay,
                public: config.replay_public.clone(),
                media: config.replay_media.clone(),
            })
            .unwrap_or_default()
    }

    /// Returns the replay settings of every configured site whose settings are not the defaults,
    /// by site: what `/t.js` tells the tracker.
    pub fn replay_overrides(&self) -> BTreeMap<String, ReplaySettings> {
        self.sites
            .keys()
            .map(|site| (site.clone(), self.replay_settings(site)))
            .filter(|(_, settings)| !settings.is_default())
            .collect()
    }

    /// Checks the client's rate; 429 past it.
    pub fn check_rate(&self, client: Option<IpAddr>) -> Result<(), IngestError> {
        let (Some(limiter), Some(client)) = (&self.limiter, client) else {
            return Ok(());
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&client).map_err(|_| {
            IngestError::RateLimited(
                "too many batches from this client; slow down and retry later".into(),
            )
        })
    }

    /// Checks that `site` is accepted from `origin`; returns whether `session` is sampled in.
    pub fn check_site(
        &self,
        site: &str,
        origin: Option<&str>,
        session: &str,
    ) -> Result<bool, IngestError> {
        if self.sites.is_empty() {
            return Ok(true);
        }
        let config = self
            .sites
            .get(site)
            .ok_or_else(|| IngestError::UnknownSite(format!("unknown site {site:?}")))?;
        if let Some(origin) = origin
            && !config.allowed_origins.is_empty()
            && !config.allowed_origins.contains(&normalize_origin(origin))
        {
            return Err(IngestError::OriginNotAllowed(format!(
                "origin {origin} may not send data for site {site:?}"
            )));
        }
        Ok(sampled_in(session, config.sample_rate))
    }

    /// Whether a CORS preflight from `origin` is answered: for `site` if known, else for any site.
    pub fn allows_origin(&self, site: Option<&str>, origin: &str) -> bool {
        if self.sites.is_empty() {
            return true;
        }
        let origin = normalize_origin(origin);
        let allowed = |config: &SiteConfig| {
            config.allowed_origins.is_empty() || config.allowed_origins.contains(&origin)
        };
        match site {
            Some(site) => self.sites.get(site).is_some_and(allowed),
            None => self.sites.values().any(allowed),
        }
    }
}

/// Decides per session, deterministically, so every batch of a session shares the decision.
fn sampled_in(session: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    (xxh3_64(session.as_bytes()) as f64 / u64::MAX as f64) < rate.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::StatusCode;

    fn admission() -> Admission {
        let shop = SiteConfig::parse_flag("shop=https://Shop.example/,https://www.shop.example")
            .expect("flag");
        let blog = SiteConfig {
            sample_rate: 0.25,
            ..SiteConfig::parse_flag("blog").expect("flag")
        };
        Admission::new(&[shop, blog], 2, 2)
    }

    #[test]
    fn sites_and_origins_are_checked() {
        let rules = admission();
        assert_eq!(
            rules.check_site("shop", Some("https://shop.example"), "s"),
            Ok(true)
        );
        assert_eq!(
            rules.check_site("shop", None, "s"),
            Ok(true),
            "non-browser clients send no origin"
        );
        assert_eq!(
            rules
                .check_site("shop", Some("https://evil.example"), "s")
                .expect_err("origin")
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            rules
                .check_site("nope", None, "s")
                .expect_err("site")
                .status(),
            StatusCode::NOT_FOUND
        );
        assert!(rules.allows_origin(None, "https://www.shop.example"));
        assert!(rules.allows_origin(Some("blog"), "https://anything.example"));
        assert!(!rules.allows_origin(Some("shop"), "https://evil.example"));
        assert!(
            Admission::new(&[], 0, 0)
                .check_site("any-site", Some("https://x"), "s")
                .is_ok()
        );
    }

    #[test]
    fn sampling_keeps_about_the_rate_and_whole_sessions() {
        let rules = admission();
        let kept = (0..10_000)
            .filter(|i| rules.check_site("blog", None, &format!("session-{i}")) == Ok(true))
            .count();
        assert!(
            (2_200..2_800).contains(&kept),
            "{kept} of 10000 kept at 0.25"
        );
        let first = rules.check_site("blog", None, "fixed");
        assert!((0..10).all(|_| rules.check_site("blog", None, "fixed") == first));
    }

    #[test]
    fn each_client_has_its_own_budget() {
        let rules = admission();
        let (a, b): (IpAddr, IpAddr) = (
            "10.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
        );
        assert!(rules.check_rate(Some(a)).is_ok() && rules.check_rate(Some(a)).is_ok());
        assert_eq!(
            rules.check_rate(Some(a)).expect_err("third").status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert!(rules.check_rate(Some(b)).is_ok());
        assert!(Admission::new(&[], 0, 0).check_rate(Some(a)).is_ok());
    }

    #[test]
    fn replay_settings_come_from_the_site_and_default_for_others() {
        let sites: Vec<SiteConfig> = [
            r#"id = "shop"
               replay = "dom"
               replay_public = ["nav", ".price"]
               replay_media = ["img.product"]"#,
            r#"id = "quiet"
               replay = "off""#,
            r#"id = "plain""#,
        ]
        .iter()
        .map(|text| toml::from_str(text).expect("site"))
        .collect();
        let rules = Admission::new(&sites, 0, 0);
        let shop = rules.replay_settings("shop");
        assert_eq!(shop.mode, Some(ReplayMode::Dom));
        assert_eq!(shop.public, vec!["nav".to_owned(), ".price".to_owned()]);
        assert_eq!(shop.media, vec!["img.product".to_owned()]);
        assert!(shop.keeps_dom());
        let quiet = rules.replay_settings("quiet");
        assert_eq!(quiet.mode, Some(ReplayMode::Off));
        assert!(!quiet.keeps_dom(), "off drops DOM events");
        for site in ["plain", "unconfigured"] {
            let settings = rules.replay_settings(site);
            assert_eq!(settings, ReplaySettings::default(), "{site}");
            assert!(settings.keeps_dom(), "{site}: the tag decides");
        }
        let overrides = rules.replay_overrides();
        let told: Vec<&str> = overrides.keys().map(String::as_str).collect();
        assert_eq!(told, ["quiet", "shop"], "only sites with replay settings");
        assert_eq!(
            serde_json::to_value(&overrides).expect("json"),
            serde_json::json!({
                "quiet": {"replay": "off", "public": [], "media": []},
                "shop": {"replay": "dom", "public": ["nav", ".price"], "media": ["img.product"]},
            })
        );
        assert!(
            toml::from_str::<SiteConfig>("id = \"x\"\nreplay = \"video\"").is_err(),
            "only dom and off"
        );
    }
}
