//! Serving with graceful shutdown: on SIGTERM/SIGINT stop accepting, let in-flight requests
//! (streams included) finish for up to a drain timeout, then return so the process exits 0.

use crate::app::App;
use axum::extract::Request;
use axum::serve::ListenerExt;
use axum::ServiceExt;
use std::future::{Future, IntoFuture};
use std::time::Duration;
use tokio::net::TcpListener;

/// Below Kubernetes' default 30 s grace period, so we exit on our own terms before SIGKILL.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(25);

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Serves `app` until `shutdown` resolves, then drains for at most `drain`.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Nagle would hold back small SSE frames; every response here wants to go out at once.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = tx.send(());
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        res = &mut server => return res,
        _ = rx => {}
    }
    match tokio::time::timeout(drain, server).await {
        Ok(res) => {
            tracing::info!("all connections drained");
            res
        }
        Err(_) => {
            tracing::warn!(
                timeout_secs = drain.as_secs(),
                "drain timeout reached: closing the remaining connections"
            );
            Ok(())
        }
    }
}
