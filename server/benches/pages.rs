//! Server-side cost of the lab pages: building one participant's dashboard data (every widget,
//! a 3-hour window) and rendering each page through the router.
//!
//! `cargo bench -p chaoslab --bench pages [-- --samples N]`. Figures go in BENCHMARKS.md.
//!
//! Three hours of pipeline time at 2 objects/s (1% malformed) are generated first, on paused tokio
//! time, so the dashboard has a full window of data; then tokio's clock resumes and every request
//! is timed on the wall clock.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaoslab::ops::dashboard;
use chaoslab::router::app;
use chaoslab::serve::{ServeArgs, build_embedded_state};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort_unstable();
    let index = ((samples.len() as f64 * p).ceil() as usize).saturating_sub(1);
    samples
        .get(index)
        .map_or(0.0, |sample| sample.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let samples: usize = args
        .iter()
        .position(|arg| arg == "--samples")
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(500);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap_or_else(|error| panic!("{error}"));
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let serve = ServeArgs::embedded(dir.path());
        let (state, engine) = build_embedded_state(&serve).unwrap_or_else(|error| panic!("{error}"));
        let router = app(state.clone());
        let join = Request::post("/join")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("name=Bench"))
            .unwrap_or_else(|error| panic!("{error}"));
        let response = router.clone().oneshot(join).await.unwrap_or_else(|error| panic!("{error}"));
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .unwrap_or_default()
            .to_owned();
        let participant = state.participants.list().unwrap_or_default().remove(0).id;
        let stack = engine.stack(&participant).unwrap_or_else(|| panic!("no stack"));

        // Three hours of traffic, a subscriber keeping up.
        let generating = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(500));
        for n in 1..=3 * 3600 * 2u64 {
            ticker.tick().await;
            let (key, body) = chaoslab::traffic::lab_message(n, stack.now(), n.is_multiple_of(100), &mut fastrand::Rng::with_seed(n));
            let _ = stack.put_object(&key, body, "application/json");
            if n.is_multiple_of(10) {
                for message in stack
                    .receive_messages(chaoslab::backend::embedded::stack::QueueKind::Csv, 10, Duration::ZERO)
                    .await
                    .unwrap_or_default()
                {
                    let _ = stack.delete_message(chaoslab::backend::embedded::stack::QueueKind::Csv, &message.receipt_handle);
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(300)).await;
        tokio::time::resume();
        println!(
            "generated 3 h of pipeline time ({} objects) in {:.1} s",
            stack.accounting().published,
            generating.elapsed().as_secs_f64()
        );

        let mut timings = Vec::with_capacity(samples);
        let mut widgets = 0;
        for _ in 0..samples {
            let started = Instant::now();
            let data = dashboard::data(&state, &participant, 180).await;
            timings.push(started.elapsed());
            widgets = data.map(|data| data.widgets.len()).unwrap_or(0);
        }
        println!(
            "dashboard data, {widgets} widgets, 3 h window: p50 {:.3} ms, p99 {:.3} ms ({samples} samples)",
            percentile(&mut timings, 0.50),
            percentile(&mut timings, 0.99)
        );

        for path in ["/lab/prepare", "/lab/create-the-pipeline", "/lab/define-the-slo", "/architecture", "/traffic", "/function", "/slo", "/dashboard", "/dashboard?range=3h"] {
            let mut timings = Vec::with_capacity(samples);
            let mut bytes = 0;
            for _ in 0..samples {
                let request = Request::get(path)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap_or_else(|error| panic!("{error}"));
                let started = Instant::now();
                let response = router.clone().oneshot(request).await.unwrap_or_else(|error| panic!("{error}"));
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                let body = response.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
                timings.push(started.elapsed());
                bytes = body.len();
            }
            println!(
                "page {path}: p50 {:.3} ms, p99 {:.3} ms, {} KiB ({samples} samples)",
                percentile(&mut timings, 0.50),
                percentile(&mut timings, 0.99),
                bytes / 1024
            );
        }
        engine.shutdown();
    });
}
