//! The command line: `heatpipe demo | serve | collect | process | merge | render | snapshot |
//! export | token | forget | retention | fixtures`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Heatmaps and session replay: collect, process, render.
#[derive(Debug, Parser)]
#[command(name = "heatpipe", version, about)]
pub struct Cli {
    /// A TOML configuration file (see README); flags override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything on 127.0.0.1: local store, demo site, synthetic traffic, viewer.
    Demo(DemoArgs),
    /// Collector and read API (on one port, or the read side on --read-listen), with periodic
    /// processing.
    Serve(ServeArgs),
    /// The collector alone.
    Collect(ServeArgs),
    /// Aggregates days of one site (or one shard of a day).
    Process(ProcessArgs),
    /// Combines the partials of a sharded day into its outputs.
    Merge(MergeArgs),
    /// Writes every page's heatmap PNGs for a day into a folder.
    Render(RenderArgs),
    /// Takes full-page screenshots with headless Chromium, as heatmap backgrounds.
    Snapshot(SnapshotArgs),
    /// Writes a day's sessions and page views as Parquet, for a CRM, a CDP or a warehouse.
    Export(ExportArgs),
    /// Creates, lists and revokes the API tokens of the read side.
    Token(TokenArgs),
    /// Erases a session or an identified visitor everywhere: raw chunks, session indexes,
    /// aggregates (days processed again), with an audit record.
    Forget(ForgetArgs),
    /// Deletes every day past its lane's retention (for cron; `serve` runs it once a day).
    ///
    /// A day is past a lane's limit of N days when its date is before today - N days (UTC):
    /// with --raw-days 30 on 2026-12-04, raw/…/2026-11-03/ is deleted and 2026-11-04 is kept.
    /// raw/, replay/ and partial/ keep raw_days; sessions/ sessions_days; agg/ aggregates_days.
    /// Prints `deleted LANE SITE DATE objects=N` per lane-day; a second run deletes nothing.
    Retention(RetentionArgs),
    /// Generates synthetic traffic into a store or a collector.
    Fixtures(FixturesArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to keep the demo's data.
    #[arg(long, default_value = "./data")]
    pub store: String,
    /// Address to serve on; a busy port falls back to a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Synthetic sessions generated for today.
    #[arg(long, default_value_t = 400)]
    pub sessions: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Seconds between processing passes.
    #[arg(long, default_value_t = 10)]
    pub process_every: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A folder or s3://bucket/prefix [default: ./data].
    #[arg(long)]
    pub store: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<String>,
    /// `serve` only: the read API and the viewer on this address instead of --listen, which
    /// then carries only the collector.
    #[arg(long)]
    pub read_listen: Option<String>,
    /// Seconds between processing passes; 0 turns them off [default: 60].
    #[arg(long)]
    pub process_every: Option<u64>,
    /// Accept only these sites (repeatable): `ID` from any origin, or `ID=ORIGIN,ORIGIN…`.
    /// Without any, every valid site name is accepted.
    #[arg(long = "site", value_parser = heatpipe_collector::admission::SiteConfig::parse_flag)]
    pub sites: Vec<heatpipe_collector::admission::SiteConfig>,
    /// Folder of the collector's write-ahead log [default: ./heatpipe-wal].
    #[arg(long)]
    pub wal_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// A folder or s3://bucket/prefix [default: ./data].
    #[arg(long)]
    pub store: Option<String>,
    #[arg(long)]
    pub site: String,
    /// The UTC day, YYYY-MM-DD [default: yesterday].
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub date: Option<String>,
    /// First day of a range (inclusive); needs --to.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last day of a range (inclusive); needs --from.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Exit with status 3 if any chunk or block had to be skipped.
    #[arg(long)]
    pub strict: bool,
    /// Process only shard I of N (0-based, e.g. 2/8) and store a partial for `merge`.
    #[arg(long, value_parser = clap::value_parser!(heatpipe_processor::Shard))]
    pub shard: Option<heatpipe_processor::Shard>,
    /// Tag keys that make segments (repeatable) [default: the configuration's, `variant`].
    #[arg(long = "segment-tag")]
    pub segment_tags: Vec<String>,
    /// Compressed chunk MiB one pass covers at most; a larger day takes several passes, which
    /// bounds memory [default: the configuration's, 256].
    #[arg(long)]
    pub pass_chunk_mib: Option<u64>,
    /// Where a day of several passes spills its finished sessions until the session index is
    /// written [default: the configuration's, else the system's temporary folder].
    #[arg(long)]
    pub spill_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// A folder or s3://bucket/prefix [default: ./data].
    #[arg(long)]
    pub store: Option<String>,
    #[arg(long)]
    pub site: String,
    /// The UTC day, YYYY-MM-DD [default: yesterday].
    #[arg(long)]
    pub date: Option<String>,
    /// How many shards wrote partials.
    #[arg(long)]
    pub shards: u32,
    /// Compressed partial MiB one pass covers at most; larger partials are merged in several
    /// passes, which bounds memory [default: the configuration's `pass_chunk_mib`, 256].
    #[arg(long)]
    pub pass_mib: Option<u64>,
    /// Where a merge of several passes spills its finished sessions [default: the
    /// configuration's, else the system's temporary folder].
    #[arg(long)]
    pub spill_dir: Option<std::path::PathBuf>,
}

/// One site's processed day in a store: what `render` and `export` read.
#[derive(Debug, Args)]
pub struct StoredDay {
    /// A folder or s3://bucket/prefix [default: ./data].
    #[arg(long)]
    pub store: Option<String>,
    #[arg(long)]
    pub site: String,
    /// The UTC day, YYYY-MM-DD [default: yesterday].
    #[arg(long)]
    pub date: Option<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub day: StoredDay,
    /// A folder or s3://bucket/prefix the images are written to.
    #[arg(long)]
    pub out: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub day: StoredDay,
    /// A folder or s3://bucket/prefix the files are written to, as
    /// {out}/{site}/{date}/{sessions,page_views}.parquet.
    #[arg(long)]
    pub out: String,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// A folder or s3://bucket/prefix [default: ./data].
    #[arg(long)]
    pub store: Option<String>,
    #[arg(long)]
    pub site: String,
    /// Page to capture (repeatable); without it, every page of the site's index for --date.
    #[arg(long)]
    pub url: Vec<String>,
    /// With no --url: the day whose pages are captured [default: yesterday].
    #[arg(long)]
    pub date: Option<String>,
    /// Layout width in CSS px (repeatable) [default: 1280].
    #[arg(long)]
    pub width: Vec<u32>,
    /// The Chromium binary.
    #[arg(long, env = "HEATPIPE_CHROMIUM", default_value = "chromium")]
    pub chromium: PathBuf,
    /// Longest wait for the browser and for each page to load, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_s: u64,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Creates a token and prints it, once; the store keeps only its hash.
    Create {
        /// A folder or s3://bucket/prefix [default: ./data].
        #[arg(long)]
        store: Option<String>,
        /// The token's name: 1-64 characters of a-z, 0-9, _ and -.
        #[arg(long)]
        name: String,
        /// `read`: every read route and share links; `admin`: also the admin routes.
        #[arg(long, value_parser = ["read", "admin"])]
        scope: String,
        /// Take the token from this environment variable (a Kubernetes Secret, say) instead of
        /// drawing one, and print nothing: creates the token, leaves it as it is, or replaces
        /// one of that name made with another secret or scope.
        #[arg(long, value_name = "VARIABLE")]
        from_env: Option<String>,
    },
    /// Lists the tokens: name, scope, creation time (never the token or its hash).
    List {
        /// A folder or s3://bucket/prefix [default: ./data].
        #[arg(long)]
        store: Option<String>,
    },
    /// Revokes a token; read sides stop accepting it within `token_refresh_ms`.
    Revoke {
        /// A folder or s3://bucket/prefix [default: ./data].
        #[arg(long)]
        store: Option<String>,
        /// The token's name.
        name: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["session", "visitor"])))]
pub struct ForgetArgs {
    /// A folder or s3://bucket/prefix [default: ./data].
    #[arg(long)]
    pub store: Option<String>,
    #[arg(long)]
    pub site: String,
    /// The session id to erase.
    #[arg(long)]
    pub session: Option<String>,
    /// The id the site passed to `heatpipe('identify', ID)`: every session of that visitor.
    #[arg(long)]
    pub visitor: Option<String>,
    /// Print what would be removed, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `heatpipe retention`'s flags (see [`Command::Retention`]).
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// A folder or s3://bucket/prefix [default: ./data].
    #[arg(long)]
    pub store: Option<String>,
    /// Print what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Days of raw/, replay/ and partial/ kept [default: the configuration's, 30].
    #[arg(long)]
    pub raw_days: Option<u32>,
    /// Days of sessions/ kept [default: the configuration's, 90].
    #[arg(long)]
    pub sessions_days: Option<u32>,
    /// Days of agg/ kept [default: the configuration's, 395].
    #[arg(long)]
    pub aggregates_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct FixturesArgs {
    /// Write chunks straight into this store (a folder or s3://bucket/prefix)…
    #[arg(long, conflicts_with = "url")]
    pub store: Option<String>,
    /// …or post native batches to the collector at this URL.
    #[arg(long)]
    pub url: Option<String>,
    #[arg(long, default_value = "demo")]
    pub site: String,
    /// The UTC day the sessions start on [default: today].
    #[arg(long)]
    pub date: Option<String>,
    #[arg(long, default_value_t = 200)]
    pub sessions: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Origin of the generated page URLs.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub origin: String,
}
