//! The listening socket's protection (CQG WebAPI limits 1 and 3): a connection from an
//! address that opened too many in the period, or holds too many open, is closed at once,
//! before any TLS handshake or HTTP parsing. The decision is `drawbridge-limits`'
//! [`Connections`]; this module only wraps the listener and the accepted streams, whose drop
//! gives the place back.

use axum::serve::Listener;
use drawbridge_limits::connections::{ConnectionQuotas, Connections, address_key};
use drawbridge_model::SharedClock;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The per-address connection table, shared by the listener and every open stream.
#[derive(Debug)]
pub struct ConnectionGuard {
    connections: Mutex<Connections>,
    clock: SharedClock,
    refused: AtomicU64,
}

impl ConnectionGuard {
    pub fn new(quotas: ConnectionQuotas, clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            connections: Mutex::new(Connections::new(quotas)),
            clock,
            refused: AtomicU64::new(0),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Connections> {
        crate::state::lock(&self.connections)
    }

    /// Connections refused since the start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// A TCP listener whose connections send every write at once (`TCP_NODELAY`, no Nagle): a
/// streamed packet, or a response written in two parts, must not wait for the peer's delayed
/// acknowledgement (up to 40 ms).
#[derive(Debug)]
pub struct NoDelay(pub tokio::net::TcpListener);

impl Listener for NoDelay {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = Listener::accept(&mut self.0).await;
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(peer = %addr, error = %e, "TCP_NODELAY not set");
        }
        (io, addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Listener::local_addr(&self.0)
    }
}

/// A listener whose connections pass the [`ConnectionGuard`].
#[derive(Debug)]
pub struct GuardedListener<L> {
    inner: L,
    guard: Arc<ConnectionGuard>,
}

impl<L> GuardedListener<L> {
    pub fn new(inner: L, guard: Arc<ConnectionGuard>) -> Self {
        Self { inner, guard }
    }
}

impl<L: Listener<Addr = SocketAddr>> Listener for GuardedListener<L> {
    type Io = Guarded<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, addr) = self.inner.accept().await;
            let key = address_key(addr.ip());
            let now = self.guard.clock.now();
            match self.guard.table().open(key, now) {
                Ok(()) => {
                    let guard = Arc::clone(&self.guard);
                    return (Guarded { io, guard, key }, addr);
                }
                Err(refusal) => {
                    self.guard.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(peer = %addr, %refusal, "connection refused");
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted stream that gives its place back when dropped.
#[derive(Debug)]
pub struct Guarded<Io> {
    io: Io,
    guard: Arc<ConnectionGuard>,
    key: u64,
}

impl<Io> Drop for Guarded<Io> {
    fn drop(&mut self) {
        self.guard.table().close(self.key);
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Guarded<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Guarded<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The peer address of a connection, as `ConnectInfo` (`into_make_service_with_connect_info`)
/// for any listener of socket addresses: streaming sessions count their rate by it.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// `PeerAddr` as the `ConnectInfo` of the server's two listeners.
macro_rules! peer_addr_of {
    ($($listener:ty),*) => {$(
        impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, $listener>>
            for PeerAddr
        {
            fn connect_info(stream: axum::serve::IncomingStream<'_, $listener>) -> Self {
                Self(*stream.remote_addr())
            }
        }
    )*};
}

peer_addr_of!(GuardedListener<NoDelay>, crate::tls::TlsListener);
