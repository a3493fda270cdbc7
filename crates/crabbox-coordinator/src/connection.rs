//! One accepted HTTP connection: the socket wrapped so traffic is noticed, the
//! deadlines that cut off a client that is silent, slow to send a request head
//! or idle between requests, and serving it until it ends, expires or the
//! server shuts down.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::body::BodyStall;
use crate::limits::Permit;
use crate::settings::Connections;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head.
    Head,
    /// A request is being handled; the handler's own limits apply (a request
    /// body must keep arriving, see `BodyStall`).
    Busy,
    /// Between requests on a kept-alive connection.
    Idle,
}

struct State {
    phase: Phase,
    deadline: Option<Instant>,
}

/// What the connection is doing and when it expires, updated by the socket
/// wrapper (bytes moved) and the service wrapper (requests begun and answered).
struct Activity {
    state: Mutex<State>,
    /// Wakes the watchdog when a deadline appears or moves earlier.
    changed: Notify,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl Activity {
    fn new(limits: &Connections) -> Activity {
        Activity {
            state: Mutex::new(State {
                phase: Phase::Head,
                deadline: Some(Instant::now() + limits.header_timeout),
            }),
            changed: Notify::new(),
            header_timeout: limits.header_timeout,
            idle_timeout: limits.idle_timeout,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is two plain fields; a panic elsewhere cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bytes arrived: on an idle connection they start the next request head.
    fn received(&self) {
        let mut state = self.state();
        if state.phase == Phase::Idle {
            state.phase = Phase::Head;
            state.deadline = Some(Instant::now() + self.header_timeout);
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Bytes left: a response still flushing to a slow reader is progress.
    fn sent(&self) {
        let mut state = self.state();
        if state.phase == Phase::Idle {
            state.deadline = Some(Instant::now() + self.idle_timeout);
        }
    }

    fn begin(self: &Arc<Activity>) -> InFlight {
        let mut state = self.state();
        state.phase = Phase::Busy;
        state.deadline = None;
        InFlight(self.clone())
    }

    fn busy(&self) -> bool {
        self.state().phase == Phase::Busy
    }

    /// Resolves once the current deadline passes without being moved.
    async fn expired(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let deadline = self.state().deadline;
            match deadline {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// A request being handled; dropping it (answered or abandoned) makes the
/// connection idle.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.phase = Phase::Idle;
        state.deadline = Some(Instant::now() + self.0.idle_timeout);
        drop(state);
        self.0.changed.notify_one();
    }
}

/// The socket, reporting traffic to the connection's activity. It holds the
/// connection's permit, so an upgraded WebSocket counts against the caps for
/// as long as it is open.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
    _permit: Permit,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buffer.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(context, buffer);
        if matches!(polled, Poll::Ready(Ok(()))) && buffer.filled().len() > before {
            this.activity.received();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(context, bytes);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.sent();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(context, buffers);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.sent();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

/// Serves HTTP/1.1 (and WebSocket upgrades) on `stream` until the client
/// leaves, a deadline passes, or `closing` turns true. On closing, a connection
/// with no request in flight is dropped at once; one with a request finishes
/// it (the server bounds how long it waits).
pub async fn serve(
    stream: TcpStream,
    permit: Permit,
    app: Router,
    limits: &Connections,
    mut closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new(limits));
    let io = TokioIo::new(Tracked {
        stream,
        activity: activity.clone(),
        _permit: permit,
    });
    let app = TowerToHyperService::new(app);
    let requests = activity.clone();
    let stall = BodyStall(limits.idle_timeout);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let in_flight = requests.begin();
        request.extensions_mut().insert(stall);
        let answer = hyper::service::Service::call(&app, request);
        async move {
            let response = answer.await;
            drop(in_flight);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The activity watchdog owns every timeout; hyper's own needs a timer.
    builder.header_read_timeout(None);
    let connection = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    let expired = activity.expired();
    tokio::pin!(expired);
    let mut draining = *closing.borrow();
    if draining && !activity.busy() {
        return;
    }
    loop {
        tokio::select! {
            // Errors here are the client's (reset, malformed request): nothing to report.
            _ = connection.as_mut() => return,
            // Dropping the connection closes the socket.
            () = expired.as_mut() => return,
            _ = closing.changed(), if !draining => {
                draining = true;
                if !activity.busy() {
                    return;
                }
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
