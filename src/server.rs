//! The combined server of `serve` and `demo`: collector and read API on one port or on two
//! (`--read-listen`), the demo site when asked, and periodic processing of the sites it collects
//! for, and retention once a day.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use heatpipe_collector::Collector;
use heatpipe_io::store::ObjectStore;
use heatpipe_renderer::Renderer;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use warp::Filter;

use crate::config::Config;
use crate::periodic::{apply_retention_daily, process_periodically};

/// What to run besides the collector and the read API.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Serve the demo site at `/demo/` with the tracker set up for this site.
    pub demo_site: Option<String>,
    /// Printed once the collector's log is open and the server is about to answer, so that an
    /// address is never announced by a server that then fails to start.
    pub ready_message: Option<String>,
}

/// Where the combined server listens.
#[derive(Debug)]
pub struct Listeners {
    /// The collector's routes (`/v1/…`, `/t.js`, `/healthz`, `/metrics`, the demo site); also
    /// the read API's and the viewer's when `read` is `None`.
    pub main: TcpListener,
    /// A listener of its own for the read API, share links and the viewer, which then are not
    /// on `main`.
    pub read: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(main: TcpListener) -> Self {
        Listeners { main, read: None }
    }
}

/// Serves until `shutdown` resolves; then stops accepting, finishes in-flight requests, and
/// stores everything the collector logged (bounded by its shutdown timeout). The read side
/// needs a token once any exists; with none, it answers only if it listens on loopback.
pub async fn serve(
    store: Arc<dyn ObjectStore>,
    config: &Config,
    options: ServeOptions,
    listeners: impl Into<Listeners>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Listeners { main, read } = listeners.into();
    let collector = Collector::open(store.clone(), config.collector.clone())
        .context("opening the collector's write-ahead log")?;
    if let Some(message) = &options.ready_message {
        println!("{message}");
    }
    let renderer = Renderer::new(store.clone(), config.renderer.clone());
    let visitor_keys = heatpipe_collector::identify::VisitorKeys::new(store.clone());
    renderer.set_eraser(Arc::new(crate::erasure::StoreEraser {
        store: store.clone(),
        processor: config.processor.clone(),
    }));
    let read_address = read.as_ref().unwrap_or(&main).local_addr()?;
    renderer
        .tokens
        .set_open_without_tokens(read_address.ip().is_loopback());
    // Its first reload is at once; a request before it ends reads the list itself.
    let refresh = tokio::spawn(renderer.clone().refresh_auth());
    let retention = tokio::spawn(apply_retention_daily(store.clone(), config.retention));
    let processing = (config.process_every_s > 0).then(|| {
        let every = Duration::from_secs(config.process_every_s);
        tokio::spawn(process_periodically(
            store,
            collector.clone(),
            config.processor.clone(),
            every,
        ))
    });
    let stopped = shared_shutdown(shutdown);
    let collector_routes = heatpipe_collector::routes(collector.clone(), Some(visitor_keys))
        .or(crate::demo_site::demo_site_filter(options.demo_site))
        .unify()
        .or(heatpipe_io::http::healthz_filter())
        .unify();
    match read {
        None => {
            let filter = collector_routes
                .or(heatpipe_renderer::routes(renderer))
                .unify()
                .recover(heatpipe_renderer::routes::auth::recover);
            let server = warp::serve(filter)
                .incoming(main)
                .graceful(until_stopped(stopped.clone()))
                .run();
            collector.run_alongside(server).await;
        }
        Some(read) => {
            let main_filter = collector_routes.recover(heatpipe_io::http::recover);
            let read_filter = heatpipe_renderer::routes(renderer)
                .recover(heatpipe_renderer::routes::auth::recover);
            let main_server = warp::serve(main_filter)
                .incoming(main)
                .graceful(until_stopped(stopped.clone()))
                .run();
            let read_server = warp::serve(read_filter)
                .incoming(read)
                .graceful(until_stopped(stopped.clone()))
                .run();
            collector
                .run_alongside(async move {
                    futures::future::join(main_server, read_server).await;
                })
                .await;
        }
    }
    refresh.abort();
    retention.abort();
    if let Some(processing) = processing {
        processing.abort();
    }
    Ok(())
}

/// Turns one shutdown future into a signal every listener can wait for.
fn shared_shutdown(shutdown: impl Future<Output = ()> + Send + 'static) -> watch::Receiver<bool> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    stopped
}

/// Resolves once the shutdown signal of [`shared_shutdown`] has been given.
async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        // An error means the sender is gone, which happens only after it sent.
        if stopped.changed().await.is_err() {
            break;
        }
    }
}

/// A server started in the background, for tests and embedding; stops when dropped.
#[derive(Debug)]
pub struct ServerHandle {
    /// The collector's address (and the read side's, unless it has its own).
    pub address: SocketAddr,
    /// The read side's own address, when started with one.
    pub read_address: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// Starts [`serve`] on 127.0.0.1 with a free port.
    pub async fn start(
        store: Arc<dyn ObjectStore>,
        config: Config,
        options: ServeOptions,
    ) -> std::io::Result<ServerHandle> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(store, config, options, listener.into()).await
    }

    /// Starts [`serve`] with the collector and the read side on two free ports of 127.0.0.1.
    pub async fn start_with_read_listener(
        store: Arc<dyn ObjectStore>,
        config: Config,
        options: ServeOptions,
    ) -> std::io::Result<ServerHandle> {
        let listeners = Listeners {
            main: TcpListener::bind("127.0.0.1:0").await?,
            read: Some(TcpListener::bind("127.0.0.1:0").await?),
        };
        Self::start_on(store, config, options, listeners).await
    }

    /// Starts [`serve`] on `listeners`.
    pub async fn start_on(
        store: Arc<dyn ObjectStore>,
        config: Config,
        options: ServeOptions,
        listeners: Listeners,
    ) -> std::io::Result<ServerHandle> {
        let address = listeners.main.local_addr()?;
        let read_address = listeners
            .read
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stopped.await;
            };
            if let Err(err) = serve(store, &config, options, listeners, stopped).await {
                tracing::error!(error = %err, "server failed to start");
            }
        });
        Ok(ServerHandle {
            address,
            read_address,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Returns `http://127.0.0.1:PORT`, the collector's address.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the read side's address: its own listener's, or the collector's.
    pub fn read_url(&self) -> String {
        format!("http://{}", self.read_address.unwrap_or(self.address))
    }

    /// Shuts the server down gracefully and waits until everything buffered is stored.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
