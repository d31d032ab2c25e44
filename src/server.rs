//! The combined server of `serve` and `demo`: collector and read API on one port, the demo site
//! when asked, and periodic processing of the sites it collects for.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use heatpipe_collector::Collector;
use heatpipe_io::store::ObjectStore;
use heatpipe_renderer::Renderer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warp::Filter;

use crate::config::Config;
use crate::periodic::process_periodically;

/// What to run besides the collector and the read API.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Serve the demo site at `/demo/` with the tracker set up for this site.
    pub demo_site: Option<String>,
}

/// Serves until `shutdown` resolves; then stops accepting, finishes in-flight requests, and
/// stores everything the collector logged (bounded by its shutdown timeout).
pub async fn serve(
    store: Arc<dyn ObjectStore>,
    config: &Config,
    options: ServeOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let collector = Collector::open(store.clone(), config.collector.clone())?;
    let renderer = Renderer::new(store.clone(), config.renderer.clone());
    let processing = (config.process_every_s > 0).then(|| {
        let every = Duration::from_secs(config.process_every_s);
        tokio::spawn(process_periodically(
            store,
            collector.clone(),
            config.processor.clone(),
            every,
        ))
    });
    let filter = heatpipe_collector::routes(collector.clone())
        .or(heatpipe_renderer::routes(renderer))
        .unify()
        .or(crate::demo_site::demo_site_filter(options.demo_site))
        .unify()
        .or(heatpipe_io::http::healthz_filter())
        .unify()
        .recover(heatpipe_io::http::recover);
    let server = warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run();
    collector.run_alongside(server).await;
    if let Some(processing) = processing {
        processing.abort();
    }
    Ok(())
}

/// A server started in the background, for tests and embedding; stops when dropped.
#[derive(Debug)]
pub struct ServerHandle {
    pub address: SocketAddr,
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
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = stopped.await;
            };
            if let Err(err) = serve(store, &config, options, listener, stopped).await {
                tracing::error!(error = %err, "server failed to start");
            }
        });
        Ok(ServerHandle {
            address,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Returns `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
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
