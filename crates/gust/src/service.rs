//! A service: one listener, its resources, its limits.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::config::{ConfigError, Limits};
use crate::resource::router::Router;
use crate::resource::Resource;
use crate::stats::Stats;
use crate::tls::{TlsAcceptor, TlsOptions};

/// Makes the listening socket of a service, each time the server starts (the original's
/// socket-creation hook). It must return a bound, listening socket; the server sets it
/// non-blocking.
pub type ListenerFactory = Arc<dyn Fn() -> io::Result<TcpListener> + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Listen {
    Addr(SocketAddr),
    Factory(ListenerFactory),
}

/// One listener with its resource table, optional fallback and limits. Built with
/// [`Service::builder`]; cheap to clone (the table is shared), so one table can serve
/// several listeners.
#[derive(Clone)]
pub struct Service {
    pub(crate) name: Arc<str>,
    pub(crate) listen: Listen,
    pub(crate) router: Arc<Router>,
    pub(crate) limits: Arc<Limits>,
    /// TLS on this listener, if any.
    pub(crate) tls: Option<TlsAcceptor>,
    /// Counters, shared with the service's twins ([`Service::with_addr`],
    /// [`Service::with_tls`]) and with whoever else was given them.
    pub(crate) stats: Arc<Stats>,
    /// `max_websockets` permits, shared with the service's twins: one table of resources,
    /// one bound on its sessions.
    pub(crate) websockets: Arc<Semaphore>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listen = match &self.listen {
            Listen::Addr(a) => a.to_string(),
            Listen::Factory(_) => "application listener".to_owned(),
        };
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("listen", &listen)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Service {
    /// Starts a service that listens on `addr` (port 0: any free port; the real address is
    /// readable from the server once started).
    pub fn builder(addr: SocketAddr) -> ServiceBuilder {
        ServiceBuilder {
            name: "http".into(),
            listen: Listen::Addr(addr),
            router: Router::default(),
            limits: Limits::default(),
            tls: None,
            stats: None,
            error: None,
        }
    }

    /// The same resources and limits on another address.
    pub fn with_addr(&self, addr: SocketAddr) -> Service {
        Service {
            listen: Listen::Addr(addr),
            ..self.clone()
        }
    }

    /// The same resources and limits on another address, over TLS: an HTTPS twin of a
    /// plain service. Fails if `tls` names credentials that are not registered.
    pub fn with_tls(&self, addr: SocketAddr, tls: &TlsOptions) -> Result<Service, ConfigError> {
        let acceptor = tls
            .acceptor()
            .map_err(|e| ConfigError::new("tls", e.to_string()))?;
        Ok(Service {
            name: "https".into(),
            listen: Listen::Addr(addr),
            tls: Some(acceptor),
            ..self.clone()
        })
    }

    /// The service's name, used in logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the service speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The service's counters: connections, requests by protocol, WebSocket sessions, TLS
    /// handshakes, socket bytes.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }
}

/// Builds a [`Service`]. Mistakes (a duplicate path, an invalid limit) are reported by
/// [`ServiceBuilder::build`], never by a panic.
pub struct ServiceBuilder {
    name: Arc<str>,
    listen: Listen,
    router: Router,
    limits: Limits,
    tls: Option<TlsOptions>,
    stats: Option<Arc<Stats>>,
    error: Option<ConfigError>,
}

impl fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ServiceBuilder {
    /// Names the service in logs (default `"http"`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Adds a resource.
    pub fn resource(mut self, resource: Resource) -> Self {
        if let Err(e) = self.router.add(resource) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Serves `resource` for every path no other resource matches (else 404).
    pub fn fallback(mut self, resource: Resource) -> Self {
        self.router.set_fallback(resource);
        self
    }

    /// Serves TLS (HTTPS) on this listener, with `h2` and `http/1.1` offered by ALPN.
    pub fn tls(mut self, options: TlsOptions) -> Self {
        self.tls = Some(options);
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Listens on sockets the application makes, each time the server starts (socket
    /// activation, special socket options).
    pub fn listener_factory(
        mut self,
        factory: impl Fn() -> io::Result<TcpListener> + Send + Sync + 'static,
    ) -> Self {
        self.listen = Listen::Factory(Arc::new(factory));
        self
    }

    /// Listens on a socket the application already made. A socket can be listened on once:
    /// starting the server again after a stop fails with an error that says so (use
    /// [`ServiceBuilder::listener_factory`] to restart).
    pub fn listener(self, listener: TcpListener) -> Self {
        let slot = Mutex::new(Some(listener));
        self.listener_factory(move || {
            slot.lock().ok().and_then(|mut s| s.take()).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "the application's listener was used by an earlier start",
                )
            })
        })
    }

    /// Counts into `stats` (shared with other services, or read by a handler that reports
    /// them) instead of counters of the service's own.
    pub fn stats(mut self, stats: Arc<Stats>) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Checks the configuration and builds the service.
    pub fn build(self) -> Result<Service, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.limits.validate()?;
        let tls = match &self.tls {
            Some(options) => Some(
                options
                    .acceptor()
                    .map_err(|e| ConfigError::new("tls", e.to_string()))?,
            ),
            None => None,
        };
        Ok(Service {
            name: self.name,
            listen: self.listen,
            router: Arc::new(self.router),
            websockets: Arc::new(Semaphore::new(self.limits.max_websockets)),
            limits: Arc::new(self.limits),
            tls,
            stats: self.stats.unwrap_or_default(),
        })
    }
}
