//! Starting the server: the data directory's store, the first start's admin and token, the
//! desk and the risk service, the listeners, and a graceful stop.

use crate::auth::{Grant, Tokens, random_hex};
use crate::config::{ClockKind, Config};
use crate::state::{AppState, Parts, Shared};
use crate::{app, listener, rest, tls, vault};
use drawbridge_broker::sim::SimConfig;
use drawbridge_limits::connections::ConnectionQuotas;
use drawbridge_model::Clock as _;
use drawbridge_model::{AccountId, SharedClock, SystemClock, Timestamp, UserId, VirtualClock};
use drawbridge_risk_service::Risk;
use drawbridge_store::{SqliteStore, Store, StoreError, User};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Vault(#[from] crate::vault::VaultError),
    #[error("{0}")]
    Setup(String),
    #[error("risk engine: {0}")]
    Risk(#[from] drawbridge_risk_service::RiskError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// The user the first start creates.
pub const ADMIN_USER: &str = "admin";

/// Opens the data directory's store.
pub async fn open_store(data_dir: &Path) -> Result<Arc<SqliteStore>, ServeError> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        ServeError::Setup(format!(
            "cannot create data dir {}: {e}",
            data_dir.display()
        ))
    })?;
    Ok(Arc::new(
        SqliteStore::open(&data_dir.join("drawbridge.db")).await?,
    ))
}

/// The simulated broker's seed and start, fixed at the first start.
async fn sim_config(
    store: &dyn Store,
    config: &Config,
    now: Timestamp,
) -> Result<SimConfig, ServeError> {
    let seed_text = config.seed.map_or_else(
        || {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).expect("the operating system provides randomness");
            u64::from_le_bytes(b).to_string()
        },
        |s| s.to_string(),
    );
    let seed: u64 = store
        .setting_or_insert("sim_seed", &seed_text)
        .await?
        .parse()
        .map_err(|_| ServeError::Setup("stored sim_seed is not a number".into()))?;
    if let Some(wanted) = config.seed
        && wanted != seed
    {
        return Err(ServeError::Setup(format!(
            "--seed {wanted} differs from this data dir's seed {seed}; use a fresh --data-dir"
        )));
    }
    let start_ms: i64 = store
        .setting_or_insert("sim_start_ms", &now.millis().to_string())
        .await?
        .parse()
        .map_err(|_| ServeError::Setup("stored sim_start_ms is not a number".into()))?;
    Ok(SimConfig::new(seed, Timestamp::from_millis(start_ms)))
}

/// Creates a user (or finds `name`) and an API or account token for it; returns the token.
pub async fn create_token(
    store: Arc<dyn Store>,
    user: Option<&str>,
    grant: Grant,
    account: Option<&str>,
    now: Timestamp,
) -> Result<String, ServeError> {
    let tokens = Tokens::open(store.clone()).await?;
    let user_id = match user {
        Some(name) => match store.user_by_name(name).await? {
            Some(u) => UserId::new(u.id),
            None => new_user(&*store, name, now).await?,
        },
        None => new_user(&*store, &format!("user-{}", random_hex(4)), now).await?,
    };
    let token = match account {
        Some(id) => {
            tokens
                .mint_account(&user_id, &AccountId::from(id), grant.read_only, now)
                .await
        }
        None => tokens.mint_api(&user_id, &grant, now).await,
    }?;
    Ok(token)
}

async fn new_user(store: &dyn Store, name: &str, now: Timestamp) -> Result<UserId, StoreError> {
    let id = UserId::new(random_hex(12));
    store
        .create_user(&User {
            id: id.to_string(),
            name: name.to_owned(),
            created: now,
        })
        .await?;
    Ok(id)
}

/// A started server: its address, the first-start token, and a handle to stop it.
#[derive(Debug)]
pub struct Running {
    pub addr: std::net::SocketAddr,
    /// `http`, or `https` under `--tls`.
    pub scheme: &'static str,
    /// The admin token created at the first start, if this was it.
    pub first_token: Option<String>,
    pub state: Shared,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests and waits for the server to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Builds the server and listens on `config.listen` in a spawned task.
pub async fn start(config: Config, env_secret_key: Option<&str>) -> Result<Running, ServeError> {
    let addr = config.listen;
    // Bind before building: a port in use must fail before the first-start token is made.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Listen { addr, source })?;
    let tls_on = config.tls;
    let tls = if tls_on {
        Some(tls_config(&config)?)
    } else {
        None
    };
    let (state, first_token) = build(config, env_secret_key).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app::app(state.clone());
    let shutdown = async move {
        let _ = stopped.await;
    };
    // Open connections per address are capped here, on wall time (a frozen virtual clock
    // must not lock clients out). The connection *rate* (CQG limit 1) is meant for long-lived
    // sessions: the SDK opens a connection per REST request, so the rate counts streaming
    // sessions (which learn their peer's address from `ConnectInfo`), not the listener's
    // connections.
    let guard = listener::ConnectionGuard::new(
        ConnectionQuotas {
            per_period: u64::MAX,
            ..ConnectionQuotas::from_catalogue(&state.config.limits)
        },
        Arc::new(SystemClock),
    );
    let listener = listener::GuardedListener::new(listener::NoDelay(listener), guard);
    let task = match tls {
        None => tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<listener::PeerAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        }),
        Some(server_config) => {
            let listener = tls::TlsListener::new(listener, server_config)
                .map_err(|source| ServeError::Listen { addr, source })?;
            tokio::spawn(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<listener::PeerAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
            })
        }
    };
    Ok(Running {
        addr: local,
        scheme: if tls_on { "https" } else { "http" },
        first_token,
        state,
        stop,
        task,
    })
}

/// The server certificate for the configured domain and region, issued (with the data
/// dir's CA, created if missing) when the current one does not cover them.
fn tls_config(config: &Config) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, ServeError> {
    let domain = config
        .domain
        .as_deref()
        .ok_or_else(|| ServeError::Setup("--tls needs --domain".into()))?;
    let files = tls::CertFiles::of(&config.data_dir);
    let names = tls::names_for(domain, std::slice::from_ref(&config.region));
    let issued = tls::ensure(&files, &names, false)?;
    if issued.server_issued {
        tracing::info!(ca = %files.ca_cert().display(), names = ?issued.names,
            "issued a server certificate; clients must trust the CA");
    }
    Ok(tls::server_config(&files)?)
}

/// Builds everything from `config` and returns the router's state, not yet listening.
pub async fn build(
    config: Config,
    env_secret_key: Option<&str>,
) -> Result<(Shared, Option<String>), ServeError> {
    let store: Arc<dyn Store> = open_store(&config.data_dir).await?;
    let vault = vault::Vault::open(env_secret_key, &config.data_dir)?;
    let (clock, virtual_clock): (SharedClock, Option<VirtualClock>) = match config.clock {
        ClockKind::Real => (Arc::new(SystemClock), None),
        ClockKind::Virtual => {
            // Without --clock-start a new data dir starts at the real time now; an existing
            // one continues where its journal ends (below).
            let start = config.clock_start.unwrap_or_else(|| SystemClock.now());
            let v = VirtualClock::new(start);
            (Arc::new(v.clone()), Some(v))
        }
    };
    let sim = sim_config(&*store, &config, clock.now()).await?;
    if let Some(v) = &virtual_clock
        && config.clock_start.is_none()
    {
        v.set(sim.start);
    }
    let (desk, _task) = drawbridge_desk::start(sim, store.clone(), clock.clone()).await?;
    if let Some(v) = &virtual_clock {
        let broker_now = desk
            .read(|b| b.now())
            .await
            .map_err(|e| ServeError::Setup(e.to_string()))?;
        if broker_now > v.now() {
            v.set(broker_now);
        }
    }
    let tokens = Tokens::open(store.clone()).await?;
    let demo = config.demo;
    let risk = Risk::start(desk.clone(), store.clone(), clock.clone()).await?;
    let state = Arc::new(AppState::new(Parts {
        config,
        store,
        tokens,
        desk,
        clock,
        virtual_clock,
        vault,
        risk,
    }));
    let reconnected = rest::provisioning::reconnect_all(&state).await?;
    tracing::info!(accounts = reconnected, "deployed accounts reconnected");
    if demo {
        let admin = match state.store.user_by_name(ADMIN_USER).await? {
            Some(u) => UserId::new(u.id),
            None => new_user(&*state.store, ADMIN_USER, state.clock.now()).await?,
        };
        let ids = rest::provisioning::seed_demo(&state, &admin)
            .await
            .map_err(|e| {
                let cause = e.cause.clone().unwrap_or_else(|| e.text.text.clone());
                ServeError::Setup(format!("demo accounts: {cause}"))
            })?;
        for id in ids {
            tracing::info!(account_id = %id, "demo account provisioned for the admin user");
        }
    }
    // Last, so that nothing after it can fail and lose the token shown only once.
    let first_token = if state.store.token_count().await? == 0 {
        let admin = Grant {
            admin: true,
            ..Grant::default()
        };
        let now = state.clock.now();
        Some(create_token(state.store.clone(), Some(ADMIN_USER), admin, None, now).await?)
    } else {
        None
    };
    Ok((state, first_token))
}

/// Serves until SIGINT or SIGTERM, then drains in-flight requests. Every acknowledged
/// change is already durable (the desk journals before answering), so stopping loses
/// nothing acknowledged.
pub async fn serve(config: Config, env_secret_key: Option<&str>) -> Result<(), ServeError> {
    let running = start(config, env_secret_key).await?;
    tracing::info!(addr = %running.addr, "listening");
    println!(
        "drawbridge listening on {}://{}",
        running.scheme, running.addr
    );
    if let Some(token) = &running.first_token {
        println!("first start: an admin token was created (keep it; it is shown once):");
        println!("{token}");
    }
    shutdown_signal().await;
    tracing::info!("stopping");
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
