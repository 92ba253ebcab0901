//! `chaoslab serve`: opens the backend and the participant store, and serves the lab.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum_extra::extract::cookie::Key;
use clap::{Args, ValueEnum};

use crate::backend::aws::{
    AWS_DEFAULT_STOP_AFTER_S, AWS_MAX_RATE, AWS_MAX_STOP_AFTER_S, AwsBackend,
};
use crate::backend::embedded::service::EmbeddedBackend;
use crate::backend::embedded::{DEFAULT_RETENTION, Engine, EngineConfig};
use crate::backend::{Backend, BackendKind};
use crate::dashboard::DashboardDefinition;
use crate::participants::Participants;
use crate::router::app;
use crate::state::{App, AppState};
use crate::traffic::settings::DEFAULT_MAX_RATE;
use crate::traffic::{TrafficController, TrafficLimits};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Options of `chaoslab serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CHAOSLAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the database and the session key live.
    #[arg(long, env = "CHAOSLAB_DATA_DIR", default_value = "./chaoslab-data")]
    pub data_dir: PathBuf,
    /// Which backend runs the pipelines.
    #[arg(long, env = "CHAOSLAB_BACKEND", value_enum, default_value = "embedded")]
    pub backend: BackendKind,
    /// Log format.
    #[arg(long, env = "CHAOSLAB_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Run pipeline time this many times faster than the wall clock (embedded backend only).
    #[arg(long, env = "CHAOSLAB_TIME_SCALE", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Objects older than this, in pipeline time, expire from the embedded buckets, as an S3
    /// lifecycle rule expires them, and queue messages from the queues, as SQS's retention
    /// period does (e.g. 30m, 24h, 7days; "off" keeps every object and message). Bounds the
    /// data folder and memory under steady traffic.
    #[arg(long, env = "CHAOSLAB_RETENTION", default_value = "24h", value_parser = parse_retention)]
    pub retention: Retention,
    /// Highest publisher or subscriber rate a participant may set, per second.
    #[arg(long, env = "CHAOSLAB_MAX_RATE", default_value_t = DEFAULT_MAX_RATE)]
    pub max_rate: f64,
    /// The instructor's token; when absent, one is generated and printed once at start-up.
    #[arg(long, env = "CHAOSLAB_INSTRUCTOR_TOKEN", hide_env_values = true)]
    pub instructor_token: Option<String>,
    /// The stacks for `--backend aws`: a file saved from `terraform output -json`.
    #[arg(long, env = "CHAOSLAB_STACKS")]
    pub stacks: Option<PathBuf>,
    /// The address participants type, when a reverse proxy serves the lab (e.g.
    /// https://lab.example.org): browsers' form posts must come from it, and with https every
    /// cookie is Secure and responses carry HSTS.
    #[arg(long, env = "CHAOSLAB_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Behind a reverse proxy, the header it writes the client's address into (e.g.
    /// X-Forwarded-For; its right-most entry is used). The rate limits count per client address;
    /// without this option the address is the connection's, which behind a proxy is the proxy's.
    #[arg(long, env = "CHAOSLAB_CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<String>,
    /// A CloudWatch dashboard body to serve instead of the compiled-in
    /// `terraform/dashboard.json`, with the same `${name}` placeholders; checked at start-up.
    #[arg(long, env = "CHAOSLAB_DASHBOARD")]
    pub dashboard: Option<PathBuf>,
}

/// How long objects stay in the embedded buckets: `None` keeps them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(pub Option<Duration>);

/// Reads `--retention`: a duration of at least a minute (the sweep runs once a pipeline
/// minute), or "off".
fn parse_retention(text: &str) -> Result<Retention, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(Retention(None));
    }
    let duration = humantime::parse_duration(text.trim()).map_err(|error| {
        format!("{error}; write a duration such as 30m, 24h or 7days, or off to keep every object")
    })?;
    if duration < Duration::from_secs(60) {
        return Err(format!(
            "{text} is under a minute; the retention sweep runs once a minute of pipeline time"
        ));
    }
    Ok(Retention(Some(duration)))
}

/// Sets up logging to stderr. INFO is for start-up, participants' and the instructor's actions,
/// and problems; anything per object (publishing, converting, delivering) is DEBUG.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    // Colour codes only for a terminal: in a file or a pipe they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Loads the session-signing key from the data directory, creating it on first start.
pub fn load_or_create_key(data_dir: &Path) -> anyhow::Result<Key> {
    let path = data_dir.join("session.key");
    if let Ok(bytes) = std::fs::read(&path)
        && bytes.len() >= 64
    {
        return Key::try_from(&bytes[..]).context("the session key file is damaged");
    }
    let key = Key::generate();
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&path)
        .and_then(|mut file| file.write_all(key.master()))
        .with_context(|| format!("cannot write the session key {}", path.display()))?;
    Ok(key)
}

/// Builds the application for a data directory: backend, participants, traffic. With
/// `--backend aws` no embedded engine is opened.
pub fn build_state(args: &ServeArgs) -> anyhow::Result<AppState> {
    check_args(args)?;
    let dashboard = load_dashboard(args)?;
    let backend: Arc<dyn Backend> = match args.backend {
        BackendKind::Embedded => Arc::new(EmbeddedBackend::new(open_engine(args)?)),
        BackendKind::Aws => Arc::new(
            AwsBackend::start_blocking(args.stacks.as_deref(), &args.data_dir)
                .context("cannot start the AWS backend")?,
        ),
    };
    state_over(args, backend, dashboard)
}

/// The embedded lab, with its engine for callers that look inside it (benchmarks, tests).
pub fn build_embedded_state(args: &ServeArgs) -> anyhow::Result<(AppState, Arc<Engine>)> {
    check_args(args)?;
    let dashboard = load_dashboard(args)?;
    let engine = open_engine(args)?;
    let backend = Arc::new(EmbeddedBackend::new(Arc::clone(&engine)));
    Ok((state_over(args, backend, dashboard)?, engine))
}

/// The dashboard to serve: `--dashboard FILE`, else the compiled-in one, checked through.
fn load_dashboard(args: &ServeArgs) -> anyhow::Result<Arc<DashboardDefinition>> {
    let definition = match &args.dashboard {
        Some(path) => DashboardDefinition::from_file(path)?,
        None => DashboardDefinition::compiled_in()?,
    };
    Ok(Arc::new(definition))
}

fn check_args(args: &ServeArgs) -> anyhow::Result<()> {
    if !(args.max_rate.is_finite() && args.max_rate > 0.0) {
        anyhow::bail!(
            "--max-rate must be a positive number, got {}",
            args.max_rate
        );
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        anyhow::bail!(
            "--time-scale must be a positive number, got {}",
            args.time_scale
        );
    }
    Ok(())
}

fn open_engine(args: &ServeArgs) -> anyhow::Result<Arc<Engine>> {
    let mut config = EngineConfig::new(&args.data_dir);
    config.time_scale = args.time_scale;
    config.retention = args.retention.0;
    Engine::open(config).context("cannot open the embedded pipeline")
}

fn state_over(
    args: &ServeArgs,
    backend: Arc<dyn Backend>,
    dashboard: Arc<DashboardDefinition>,
) -> anyhow::Result<AppState> {
    let participants =
        Participants::open(&args.data_dir).context("cannot open the participant store")?;
    let limits = traffic_limits(args.backend, args.max_rate);
    let traffic = TrafficController::new(Arc::clone(&backend), limits);
    let instructor_token = match &args.instructor_token {
        Some(token) if token.len() >= 16 => token.clone(),
        Some(_) => anyhow::bail!("--instructor-token must be at least 16 characters"),
        None => format!("cli_{}", uuid::Uuid::new_v4().simple()),
    };
    Ok(AppState(Arc::new(App {
        backend,
        participants,
        traffic,
        cookie_key: load_or_create_key(&args.data_dir)?,
        ready: AtomicBool::new(false),
        instructor_token,
        fault_readings: crate::backend::fault::ParameterReadings::default(),
        api: app,
        api_router: std::sync::OnceLock::new(),
        experiments: crate::chaos::registry::Experiments::open(&args.data_dir)
            .context("cannot open the experiment store")?,
        events: crate::events::EventLog::open(&args.data_dir)
            .context("cannot open the event log")?,
        // Generous for a person or a script, tight for a runaway loop: 20/s, bursts of 60.
        rate_limiter: crate::protection::RateLimiter::new(20.0, 60.0),
        // A whole room may join at once from one address (a classroom's NAT): bursts of 60,
        // then one join every 2 s.
        join_limiter: crate::protection::RateLimiter::new(0.5, 60.0),
        edge: crate::protection::Edge::new(
            args.public_url.as_deref(),
            args.client_address_header.as_deref(),
        )?,
        dashboard,
        invocations: crate::backend::invocation::RecentInvocations::default(),
    })))
}

impl ServeArgs {
    /// The embedded lab with the command line's defaults, keeping its data in `data_dir` and
    /// listening on a free loopback port: what tests and benchmarks build a server from.
    pub fn embedded(data_dir: &Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            backend: BackendKind::Embedded,
            log_format: LogFormat::Text,
            time_scale: 1.0,
            retention: Retention(Some(DEFAULT_RETENTION)),
            max_rate: DEFAULT_MAX_RATE,
            instructor_token: None,
            stacks: None,
            public_url: None,
            client_address_header: None,
            dashboard: None,
        }
    }
}

/// The traffic caps for a backend: traffic on AWS costs money, so it gets a lower rate cap, an
/// earlier default stop and a shorter longest stop. `max_rate` is `--max-rate`.
pub fn traffic_limits(backend: BackendKind, max_rate: f64) -> TrafficLimits {
    match backend {
        BackendKind::Embedded => TrafficLimits {
            max_rate,
            ..TrafficLimits::default()
        },
        BackendKind::Aws => TrafficLimits {
            max_rate: max_rate.min(AWS_MAX_RATE),
            max_stop_after_s: AWS_MAX_STOP_AFTER_S,
            default_stop_after_s: AWS_DEFAULT_STOP_AFTER_S,
        },
    }
}

/// Restarts the traffic that was running when the server last stopped.
pub fn resume_traffic(state: &AppState) {
    let Ok(participants) = state.participants.list() else {
        return;
    };
    for participant in participants {
        if let Some(settings) = participant.traffic.filter(|_| participant.traffic_running)
            && let Err(error) = state.traffic.start(&participant.id, settings)
        {
            tracing::warn!(participant = %participant.id, %error, "could not resume traffic");
        }
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let state = build_state(&args)?;
    // Highlighting the function's source takes a moment the first time: do it off the request path.
    tokio::task::spawn_blocking(|| {
        let _ = crate::inspector::source_files();
    });
    resume_traffic(&state);
    let supervisor = tokio::spawn(crate::ops::traffic::supervise(Arc::clone(&state.0)));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another chaoslab running? try --listen 127.0.0.1:8081)",
                args.listen
            )
        })?;
    let address = listener.local_addr().context("no local address")?;
    if args.instructor_token.is_none() {
        // Printed once, to the terminal that started the server, so the instructor can log in.
        eprintln!(
            "Instructor token (generated for this run; set --instructor-token to choose one): {}",
            state.instructor_token
        );
    }
    state.ready.store(true, Ordering::Release);
    // Runs a stop cut off are rolled back now that activities can be dispatched.
    tokio::spawn({
        let state = state.clone();
        async move { crate::ops::experiments::recover(&state).await }
    });
    tracing::info!(
        backend = ?args.backend,
        data_dir = %args.data_dir.display(),
        time_scale = args.time_scale,
        retention = %args.retention.0.map_or_else(|| "off".to_owned(), |retention| humantime::format_duration(retention).to_string()),
        "chaoslab is ready: open http://{address}/ in your browser"
    );
    let router = app(state.clone());
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the web server failed")?;
    tracing::info!("shutting down: stopping traffic and saving the pipeline");
    supervisor.abort();
    state.ready.store(false, Ordering::Release);
    let running = state.traffic.running_participants();
    state.traffic.stop_all().await;
    // Remember whose traffic was running, to resume it at the next start.
    for participant in state.participants.list().unwrap_or_default() {
        let was_running = running.contains(&participant.id);
        if participant.traffic_running != was_running {
            let _ = state.participants.update(&participant.id, |participant| {
                participant.traffic_running = was_running
            });
        }
    }
    state.backend.shutdown();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn retention_reads_durations_and_off_and_refuses_less_than_a_minute() {
        assert_eq!(
            parse_retention("30m"),
            Ok(Retention(Some(Duration::from_secs(1800))))
        );
        assert_eq!(
            parse_retention("7days"),
            Ok(Retention(Some(Duration::from_secs(7 * 86_400))))
        );
        assert_eq!(parse_retention("OFF"), Ok(Retention(None)));
        let short = parse_retention("10s").unwrap_err();
        assert!(short.contains("under a minute"), "{short}");
        let wrong = parse_retention("soon").unwrap_err();
        assert!(wrong.contains("such as 30m"), "{wrong}");
    }
}
