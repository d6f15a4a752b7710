//! `ctas-router serve`: the tiers opened, the workers started, the API served, and a
//! clean stop ([`crate::shutdown`]).

use std::future::IntoFuture;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::api::{self, AppState};
use crate::config::Settings;
use crate::hot::Hot;
use crate::metrics::Metrics;
use crate::shutdown::Signals;
use crate::sync::{self, WorkerContext};
use crate::tiers::{cold::Cold, graph::Graph, warm::Warm, Registry};

/// Run the router until SIGTERM or SIGINT, then stop within the bounds configured.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let tokens = Arc::new(settings.tokens().map_err(anyhow::Error::msg)?);
    let routing = Arc::new(settings.routing().map_err(anyhow::Error::msg)?);
    match &settings.routing {
        Some(file) => tracing::info!(
            file = %file.display(),
            rules = routing.rules.len(),
            "routing: the first rule that holds decides an object's tiers"
        ),
        None => {
            tracing::info!("routing: no rules file (--routing); every object goes to every tier")
        }
    }
    let mut signals = Signals::install().context("cannot catch SIGTERM and SIGINT")?;
    let bounds = settings.bounds();
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            settings.data_dir.display()
        )
    })?;
    let hot_dir = settings.data_dir.join("hot");
    let hot = Hot::open(&hot_dir)
        .with_context(|| format!("cannot open the hot tier at {}", hot_dir.display()))?;
    let background = crate::background::runtime().context("cannot start the background runtime")?;
    let warm_endpoint = settings.warm_endpoint();
    // The embedded SurrealDB runs its engine on the runtime that opens it.
    let endpoint = warm_endpoint.clone();
    let warm = Arc::new(
        background
            .spawn(async move { Warm::connect(&endpoint).await })
            .await?
            .with_context(|| format!("cannot open the warm tier at {warm_endpoint}"))?,
    );
    // The cold tier when configured, through connections made by `open`: the worker
    // writes through its own; status, traces and verify read through others, with
    // short timeouts, never behind the worker.
    let cold_by = |open: fn(&str) -> Result<Cold, crate::tiers::TierError>| {
        settings
            .pg_dsn
            .as_deref()
            .map(open)
            .transpose()
            .map(|c| c.map(Arc::new))
    };
    let cold = cold_by(Cold::writer)?;
    let graph = settings
        .neo4j_uri
        .as_deref()
        .map(|uri| Graph::new(uri, &settings.neo4j_user, &settings.neo4j_password))
        .transpose()?
        .map(Arc::new);
    let on = settings.tiers_on().map_err(anyhow::Error::msg)?;
    for (tier, waiting) in hot.set_off(on.complement()) {
        if waiting > 0 {
            tracing::warn!(%tier, waiting, "{tier} tier off ({}), yet records sent to it when it was on wait for it in the hot tier's log: they stay until it is on again", crate::config::how_to_turn_on(tier));
        } else {
            tracing::info!(%tier, "{tier} tier off: {}; nothing is sent to it", crate::config::how_to_turn_on(tier));
        }
    }
    let metrics = Arc::new(Metrics::default());
    let wake = Arc::new(Notify::new());
    let last_error: Arc<[std::sync::Mutex<Option<String>>; 3]> = Arc::default();

    let (stop, stopped) = watch::channel(false);
    let ctx = WorkerContext {
        hot: hot.clone(),
        wake: wake.clone(),
        metrics: metrics.clone(),
        last_error: last_error.clone(),
        batch_size: settings.batch_size.max(1),
    };
    let knowledge = crate::knowledge::Shared::default();
    let ttls = sync::Ttls {
        hot: settings.hot_ttl,
        warm: settings.warm_ttl.map(|ttl| (warm.clone(), ttl)),
        every: settings
            .demote_every
            .to_std()
            .unwrap_or(Duration::from_secs(60)),
    };
    if let Some(ttl) = settings.hot_ttl {
        tracing::info!(ttl = %ttl, "hot tier: copies older than the TTL go once warm and cold confirm them");
    }
    if let Some(ttl) = settings.warm_ttl {
        tracing::info!(ttl = %ttl, "warm tier: reports and records older than the TTL go once cold confirms them");
    }
    // One worker per tier that is on, writing through connections of its own.
    let writers = Registry::new(warm.clone(), cold, graph.clone());
    let mut workers: Vec<_> = writers
        .on()
        .map(|tier| background.spawn(sync::run(tier.clone(), ctx.clone(), stopped.clone())))
        .collect();
    if let Some(dsn) = &settings.pg_dsn {
        workers.push(background.spawn(crate::knowledge::keep_current(
            Arc::new(Cold::knowledge_reader(dsn)?),
            knowledge.clone(),
            stopped.clone(),
        )));
    }
    workers.push(background.spawn(sync::demote(ctx, ttls, stopped)));
    let cold = cold_by(Cold::reader)?;
    let tiers = Registry::new(warm.clone(), cold.clone(), graph.clone());

    let app = api::routes(
        AppState {
            hot: hot.clone(),
            warm,
            cold,
            graph,
            tiers,
            absent: Arc::default(),
            wake,
            metrics,
            last_error,
            knowledge,
            routing,
            required: settings.require.clone().into(),
            warm_dir: settings
                .surreal_endpoint
                .is_empty()
                .then(|| settings.data_dir.join("warm").into()),
            warm_ttl: settings.warm_ttl,
            background: background.handle().clone(),
        },
        tokens.clone(),
        settings.request_timeout(),
    );
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(
        listen = %settings.listen,
        data_dir = %settings.data_dir.display(),
        warm = %warm_endpoint,
        config = %settings.config.as_deref().map_or("none".into(), |p| p.display().to_string()),
        tokens = if tokens.is_empty() { "none: the API is open to this host" } else { "required" },
        "ctas-router ready"
    );
    // Answers go out at once rather than waiting on Nagle's algorithm for an ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let listener = Limited::new(listener, settings.max_connections.max(1));
    let (draining, drain) = watch::channel(false);
    let mut server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let mut drain = drain;
                let _ = drain.wait_for(|&d| d).await;
            })
            .into_future(),
    );
    let signal = tokio::select! {
        name = signals.recv() => name,
        ended = &mut server => {
            // The server ended by itself: only an error of its listener does that.
            ended??;
            "the server's end"
        }
    };
    tracing::info!(
        signal,
        drain_s = bounds.drain.as_secs_f64(),
        "stopping: no new connections; requests in flight may finish"
    );
    let _ = draining.send(true);
    match tokio::time::timeout(bounds.drain, &mut server).await {
        Ok(ended) => ended??,
        Err(_) => {
            // What they were doing is safe to drop: nothing is acknowledged before it
            // is in the hot tier's log, and a client that got no answer sends again.
            tracing::warn!(
                "requests still in flight after {} s: dropping them",
                bounds.drain.as_secs_f64()
            );
            server.abort();
        }
    }

    tracing::info!("stopping the workers and flushing the hot tier");
    let _ = stop.send(true);
    for w in workers {
        let abort = w.abort_handle();
        if tokio::time::timeout(bounds.workers, w).await.is_err() {
            // A batch not finished is sent again at the next start: the cursor moves
            // only once a tier took it.
            tracing::warn!(
                "an outbox worker did not stop within {} s: stopped",
                bounds.workers.as_secs_f64()
            );
            abort.abort();
        }
    }
    tokio::task::spawn_blocking(move || hot.close()).await??;
    drop(background);
    tracing::info!("stopped");
    Ok(())
}

/// A listener that holds at most `limit` connections open: past it, new connections
/// wait in the kernel's backlog until one closes, instead of each taking memory and a
/// task while the router is already saturated.
pub struct Limited<L> {
    inner: L,
    permits: Arc<Semaphore>,
}

impl<L> Limited<L> {
    pub fn new(inner: L, limit: usize) -> Self {
        Limited {
            inner,
            permits: Arc::new(Semaphore::new(limit)),
        }
    }
}

impl<L: axum::serve::Listener> axum::serve::Listener for Limited<L> {
    type Io = Permitted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring fails never; were it to, the
        // listener would wait rather than take a connection past the limit.
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return std::future::pending().await;
        };
        let (io, addr) = self.inner.accept().await;
        (
            Permitted {
                io,
                _permit: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection and its place under the limit, given back when it closes.
pub struct Permitted<T> {
    io: T,
    _permit: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Permitted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Permitted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
