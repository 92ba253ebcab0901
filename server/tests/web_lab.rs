//! The lab pages, driven through the router with `oneshot`: joining, sessions, every page and
//! action, the step checks, bad input, and lab 1 end to end on paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use support::app::{Lab, location, noscript_text, set_cookie, shows_note};

#[tokio::test]
async fn a_new_visitor_gets_the_join_form() {
    let lab = Lab::open();
    let (status, _, page) = lab.get("/", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<form method="post" action="/join">"#));
    assert!(page.contains(r#"<label for="name">Your name</label>"#));
}

#[tokio::test]
async fn joining_sets_a_signed_http_only_same_site_cookie_and_creates_a_stack() {
    let lab = Lab::open();
    let (status, headers, _) = lab.post("/join", "", "name=Ada+Lovelace").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/lab/prepare");
    let cookie = set_cookie(&headers).unwrap();
    assert!(cookie.starts_with("chaoslab_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let participants = lab.state.participants.list().unwrap();
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0].name, "Ada Lovelace");
    let names = lab.state.backend.stack_names(&participants[0].id).unwrap();
    assert!(
        names.bucket.starts_with("chaos-bucket-")
            && names.function_name.starts_with("ChaosTransformer-")
    );
}

#[tokio::test]
async fn returning_resumes_at_the_last_step() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let _ = lab.get("/lab/open-the-dashboard", &ada.cookie).await;
    let (status, headers, _) = lab.get("/", &ada.cookie).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/lab/open-the-dashboard");
}

#[tokio::test]
async fn bad_names_get_a_clear_message_and_no_participant() {
    let lab = Lab::open();
    for name in ["", "+++", &"x".repeat(41)] {
        let (status, _, page) = lab.post("/join", "", &format!("name={name}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(
            page.contains("Please enter a name of 1 to 40 characters"),
            "{page}"
        );
    }
    assert!(lab.state.participants.list().unwrap().is_empty());
}

#[tokio::test]
async fn forged_expired_and_unknown_cookies_go_back_to_the_join_page() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let forged = ada
        .cookie
        .replace("chaoslab_session=", "chaoslab_session=x");
    let (status, headers, _) = lab.get("/lab/prepare", &forged).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/?reason=join")
    );

    // A correctly signed cookie, but issued 31 days ago.
    let id = lab.state.participants.list().unwrap()[0].id.clone();
    let signed = |value: String| {
        let jar =
            axum_extra::extract::cookie::SignedCookieJar::new(lab.state.cookie_key.clone()).add(
                axum_extra::extract::cookie::Cookie::new("chaoslab_session", value),
            );
        let cookie = jar.get("chaoslab_session").unwrap();
        // The jar stores the signed value; read it back through a response.
        let response = axum::response::IntoResponse::into_response((jar, ()));
        let header = response
            .headers()
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(header.contains(&cookie.value().to_string()[..4]));
        header.split(';').next().unwrap().to_owned()
    };
    let old = chrono::Utc::now().timestamp() - 31 * 24 * 3600;
    let expired = signed(format!("{id}.0123456789abcdef0123456789abcdef.{old}"));
    let (status, headers, _) = lab.get("/lab/prepare", &expired).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/?reason=expired")
    );

    let now = chrono::Utc::now().timestamp();
    let unknown = signed(format!(
        "p-doesnotexist.0123456789abcdef0123456789abcdef.{now}"
    ));
    let (status, headers, _) = lab.get("/lab/prepare", &unknown).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/?reason=unknown")
    );
    let (_, _, page) = lab.get("/?reason=unknown", "").await;
    assert!(page.contains("could not find your participant record"));
}

#[tokio::test]
async fn every_page_renders_in_full_and_as_an_htmx_partial() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    for path in [
        "/lab/prepare",
        "/architecture",
        "/dashboard",
        "/function",
        "/traffic",
        "/slo",
        "/lab/define-the-slo",
    ] {
        let (status, _, page) = lab.get(path, &ada.cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(page.starts_with("<!doctype html>"), "{path}");
        assert!(page.contains("steps done"), "{path} shows progress");
    }
    for path in [
        "/lab/prepare/check",
        "/architecture/live",
        "/traffic/live",
        "/dashboard/live",
        "/slo/live",
    ] {
        let (status, body) = lab.htmx(path, &ada.cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains("<html"), "{path} is a fragment");
        assert!(body.contains("hx-get="), "{path} keeps polling");
    }
}

#[tokio::test]
async fn unknown_steps_and_pages_are_404_pages() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, _, page) = lab.get("/lab/no-such-step", &ada.cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("No lab has a step"));
    assert!(
        page.contains(r#"href="/">Back to the lab</a>"#),
        "a way back: {page}"
    );
    let (status, _, _) = lab.get("/no/such/page", &ada.cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, page) = lab.get("/dashboard?range=99y", &ada.cookie).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Unknown time range"));
}

#[tokio::test]
async fn viewing_checks_pass_after_their_page_is_opened() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let cases = [
        ("prepare", "/architecture"),
        ("open-the-dashboard", "/dashboard"),
        ("review-the-function", "/function"),
    ];
    for (step, page) in cases {
        let (_, body) = lab.htmx(&format!("/lab/{step}/check"), &ada.cookie).await;
        assert!(
            body.contains("Not yet") && body.contains("Hint:"),
            "{step}: {body}"
        );
        let _ = lab.get(page, &ada.cookie).await;
        let (_, body) = lab.htmx(&format!("/lab/{step}/check"), &ada.cookie).await;
        assert!(body.contains("Done"), "{step}: {body}");
    }
    // Step 2 passes on its own, and shows the participant's resources.
    let (_, _, page) = lab.get("/lab/create-the-pipeline", &ada.cookie).await;
    let id = lab.state.participants.list().unwrap()[0].id.clone();
    let names = lab.state.backend.stack_names(&id).unwrap();
    assert!(page.contains(&names.bucket) && page.contains(&names.dlq_name));
    assert!(page.contains("Done"));
    let (_, _, page) = lab.get("/lab/create-the-pipeline", &ada.cookie).await;
    assert!(page.contains("4 of 7 steps done"), "progress");
}

#[tokio::test]
async fn forms_need_the_session_csrf_token_and_a_same_site_origin() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, _, _) = lab.post("/traffic", &ada.cookie, "csrf=0000").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = lab.post("/traffic", &ada.cookie, "").await;
    assert!(status.is_client_error(), "{status}");
    let request = Request::post("/traffic")
        .header(header::COOKIE, &ada.cookie)
        .header(header::ORIGIN, "http://evil.example")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={}", ada.csrf)))
        .unwrap();
    let (status, _, _) = lab.send(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let id = lab.state.participants.list().unwrap()[0].id.clone();
    assert!(!lab.state.traffic.status(&id).is_running());
    let (status, _, _) = lab.post("/join", "", "name=Eve").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a same-site join still works"
    );
}

#[tokio::test]
async fn traffic_starts_with_defaults_stops_and_refuses_out_of_range_rates() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let id = lab.state.participants.list().unwrap()[0].id.clone();
    let (status, headers, _) = lab
        .post_as(&ada, "/traffic", "return_to=/lab/start-traffic")
        .await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/lab/start-traffic")
    );
    let traffic = lab.state.traffic.status(&id);
    assert_eq!(
        traffic
            .publisher
            .as_ref()
            .map(|p| (p.running, p.settings.rate)),
        Some((true, 2.0))
    );
    assert_eq!(traffic.subscriber.as_ref().map(|s| s.running), Some(true));
    let (_, body) = lab.htmx("/lab/start-traffic/check", &ada.cookie).await;
    assert!(body.contains("Done"), "{body}");

    // Errors speak in the form's units and the form keeps what was typed.
    for (form, message, kept) in [
        (
            "publisher_rate=50",
            "Objects per second must be from 0.1 to 20 per second; you entered 50.",
            r#"id="publisher_rate" name="publisher_rate" type="number" min="0.1" max="20" step="0.1" value="50""#,
        ),
        (
            "publisher_rate=0",
            "Objects per second must be from 0.1 to 20 per second; you entered 0.",
            r#"value="0""#,
        ),
        (
            "error_percent=150",
            "Malformed objects must be from 0 to 100%; you entered 150.",
            r#"name="error_percent" type="number" min="0" max="100" step="0.1" value="150""#,
        ),
        (
            "stop_after_minutes=0",
            "Stop automatically after must be from 1 to 240 minutes; you entered 0.",
            r#"value="0""#,
        ),
        (
            "subscriber_rate=abc",
            "Messages per second must be a number; you entered &#34;abc&#34;.",
            r#"value="abc""#,
        ),
    ] {
        let (status, _, page) = lab.post_as(&ada, "/traffic", form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
        assert!(page.contains(message), "{form}: {page}");
        assert!(page.contains(kept), "{form} keeps the input: {page}");
        assert!(
            !page.contains("publisher.") && !page.contains("_s "),
            "{page}"
        );
    }
    // Refused settings leave the running traffic alone.
    assert_eq!(
        lab.state
            .traffic
            .status(&id)
            .publisher
            .map(|p| p.settings.rate),
        Some(2.0)
    );

    let (status, _, _) = lab
        .post_as(
            &ada,
            "/traffic",
            "publisher_rate=5&error_percent=10&stop_after_minutes=30&subscriber_rate=5",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let publisher = lab.state.traffic.status(&id).publisher.unwrap();
    assert_eq!(
        (
            publisher.settings.rate,
            publisher.settings.error_rate,
            publisher.settings.stop_after_s
        ),
        (5.0, 0.1, Some(1800))
    );

    let (status, _, _) = lab.post_as(&ada, "/traffic/stop", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!lab.state.traffic.status(&id).is_running());
}

#[tokio::test]
async fn the_slo_form_validates_and_saves_the_objective() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, _, page) = lab
        .post_as(&ada, "/slo", "max_percent=abc&window_minutes=5")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("must be a percentage"));
    let (status, _, _) = lab
        .post_as(&ada, "/slo", "max_percent=2&window_minutes=500")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, headers, _) = lab
        .post_as(&ada, "/slo", "max_percent=2&window_minutes=5")
        .await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/slo")
    );
    let participant = lab.state.participants.list().unwrap().remove(0);
    assert_eq!(
        participant
            .slo
            .map(|slo| (slo.max_percent, slo.window_minutes)),
        Some((2.0, 5))
    );
    let (_, _, page) = lab.get("/slo", &ada.cookie).await;
    assert!(page.contains("not enough data"), "no traffic yet");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let lab = Lab::open();
    let (status, _, body) = lab.get("/healthz", "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"status":"ok"}"#)
    );
    let (status, _, _) = lab.get("/readyz", "").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready until serve marks it"
    );
    lab.state
        .ready
        .store(true, std::sync::atomic::Ordering::Release);
    let (status, _, body) = lab.get("/readyz", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("embedded"));
}

#[tokio::test]
async fn progress_stack_and_traffic_settings_survive_a_restart() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let _ = lab.get("/architecture", &ada.cookie).await;
    let _ = lab.get("/lab/prepare", &ada.cookie).await;
    let (status, _, _) = lab.post_as(&ada, "/traffic", "publisher_rate=3").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = lab.state.participants.list().unwrap()[0].id.clone();
    let bucket = lab.state.backend.stack_names(&id).unwrap().bucket;
    lab.state.traffic.stop_all().await;
    lab.state.backend.shutdown();
    let lab = lab.reopen();
    let (status, _, page) = lab.get("/lab/prepare", &ada.cookie).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session cookie is still valid: the key is kept"
    );
    assert!(page.contains("1 of 7 steps done"));
    assert_eq!(lab.state.backend.stack_names(&id).unwrap().bucket, bucket);
    let saved = lab.state.participants.get(&id).unwrap().traffic.unwrap();
    assert_eq!(saved.publisher.map(|p| p.rate), Some(3.0));
    let (_, _, page) = lab.get("/traffic", &ada.cookie).await;
    assert!(
        page.contains(r#"value="3""#),
        "the form shows the saved rate"
    );
}

#[tokio::test(start_paused = true)]
async fn lab_one_end_to_end_on_paused_time() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    for page in [
        "/architecture",
        "/lab/create-the-pipeline",
        "/dashboard",
        "/function",
    ] {
        assert_eq!(lab.get(page, &ada.cookie).await.0, StatusCode::OK);
    }
    let (status, _, _) = lab.post_as(&ada, "/traffic", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body) = lab
        .htmx("/lab/observe-the-steady-state/check", &ada.cookie)
        .await;
    assert!(body.contains("Not yet"), "{body}");
    // Ten minutes of pipeline time: the first malformed objects reach the DLQ after ~3 minutes.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let (_, body) = lab
        .htmx("/lab/observe-the-steady-state/check", &ada.cookie)
        .await;
    assert!(body.contains("Done"), "{body}");
    let (status, _, _) = lab
        .post_as(&ada, "/slo", "max_percent=5&window_minutes=5")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body) = lab.htmx("/lab/define-the-slo/check", &ada.cookie).await;
    assert!(body.contains("Done"), "{body}");
    for step in [
        "prepare",
        "create-the-pipeline",
        "open-the-dashboard",
        "review-the-function",
        "start-traffic",
    ] {
        let _ = lab.htmx(&format!("/lab/{step}/check"), &ada.cookie).await;
    }
    let (_, _, page) = lab.get("/lab/define-the-slo", &ada.cookie).await;
    assert!(page.contains("7 of 7 steps done"), "every check passed");
    let (_, _, dashboard) = lab.get("/dashboard", &ada.cookie).await;
    assert!(!dashboard.contains("No data yet"));
    lab.state.traffic.stop_all().await;
}

#[tokio::test(start_paused = true)]
async fn the_dashboard_page_shows_exactly_what_get_metric_data_returns() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, _, _) = lab.post_as(&ada, "/traffic", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    lab.state.traffic.stop_all().await;
    let id = lab.state.participants.list().unwrap()[0].id.clone();

    let (_, _, page) = lab.get("/dashboard?range=3h", &ada.cookie).await;
    let embedded: Vec<serde_json::Value> = page
        .split(r#"<script type="application/json">"#)
        .skip(1)
        .map(|chunk| {
            serde_json::from_str(
                &chunk
                    .split("</script>")
                    .next()
                    .unwrap()
                    .replace("<\\/", "</"),
            )
            .unwrap()
        })
        .collect();
    let direct = chaoslab::ops::dashboard::data(&lab.state, &id, 180)
        .await
        .unwrap();
    assert_eq!(embedded.len(), direct.widgets.len());
    for (shown, computed) in embedded.iter().zip(&direct.widgets) {
        // Both sides go through the same text-to-f64 parse: serde_json's default parse can
        // differ from the exact value in the last bit, while the text on the page is the same.
        let computed: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(computed).unwrap()).unwrap();
        assert_eq!(shown, &computed, "widget {}", computed["title"]);
    }
    let invocations: f64 = direct
        .widgets
        .iter()
        .flat_map(|widget| &widget.series)
        .filter(|series| series.label == "Invocations")
        .flat_map(|series| &series.values)
        .sum();
    assert!(invocations > 1_500.0, "15 minutes at 2/s: {invocations}");
}

#[test]
fn text_widgets_show_their_markdown_at_their_place_among_the_charts() {
    let template = r###"{"widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {"title": "Top left",
         "metrics": [["AWS/Lambda", "Invocations", "FunctionName", "${function_name}"]]}},
        {"type": "text", "x": 0, "y": 12, "width": 24, "height": 3, "properties": {"markdown":
         "## How the measures are computed\n\nA **ratio** of sums. <script>alert(1)</script>"}},
        {"type": "metric", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {"title": "Top right",
         "metrics": [["AWS/Lambda", "Errors", "FunctionName", "${function_name}"]]}},
        {"type": "text", "x": 0, "y": 6, "width": 12, "height": 2, "properties": {"markdown": "Between"}},
        {"type": "metric", "x": 12, "y": 6, "width": 12, "height": 6, "properties": {"title": "Middle",
         "metrics": [["AWS/Lambda", "Throttles", "FunctionName", "${function_name}"]]}}
    ]}"###;
    let names = chaoslab::dashboard::DashboardNames {
        region: "us-east-1".to_owned(),
        function_name: "etl".to_owned(),
        csv_queue_name: "csv".to_owned(),
        dlq_name: "dlq".to_owned(),
        topic_name: "topic".to_owned(),
    };
    let dashboard = chaoslab::dashboard::Dashboard::from_template(template, &names).unwrap();
    let data = chaoslab::dashboard::DashboardData {
        widgets: dashboard
            .widgets
            .iter()
            .map(|widget| chaoslab::dashboard::WidgetData {
                id: widget.id.clone(),
                title: widget.title.clone(),
                view: widget.view,
                position: widget.position,
                period: widget.period,
                series: Vec::new(),
            })
            .collect(),
    };
    let html = chaoslab::web::dashboard::WidgetsPartial::new(
        "1h",
        data,
        &dashboard.text_widgets,
        "10:00:00 UTC".to_owned(),
        false,
    )
    .to_string();

    // Top to bottom, then left to right, as on CloudWatch's grid.
    let at = |text: &str| {
        html.find(text)
            .unwrap_or_else(|| panic!("{text:?} is not on the page:\n{html}"))
    };
    assert!(at(">Top left<") < at(">Top right<"), "{html}");
    assert!(at(">Top right<") < at("<p>Between</p>"), "{html}");
    assert!(at("<p>Between</p>") < at(">Middle<"), "{html}");
    assert!(
        at(">Middle<") < at("<h2>How the measures are computed</h2>"),
        "{html}"
    );
    assert!(html.contains("<strong>ratio</strong>"), "{html}");
    assert!(
        !html.contains("<script>alert"),
        "raw HTML is escaped: {html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
    // As wide as CloudWatch's grid: across the page's grid too.
    let wide = html[..at("<h2>How the measures")]
        .rsplit("<div class=\"")
        .nth(1)
        .unwrap();
    assert!(wide.contains("widget--full"), "{wide}");
    let narrow = html[..at("<p>Between</p>")]
        .rsplit("<div class=\"")
        .nth(1)
        .unwrap();
    assert!(!narrow.contains("widget--full"), "{narrow}");
}

/// Whether `page` says "Refreshes every 15 seconds" in an element that is not `hidden`.
fn claims_to_refresh(page: &str) -> bool {
    shows_note(page, "Refreshes every 15 seconds.")
}

#[tokio::test]
async fn the_dashboard_claims_to_refresh_itself_only_where_scripts_run() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    // The full page cannot know whether scripts run: the note is hidden until chaoslab.js shows
    // it, and without scripts the page says to reload.
    let (_, _, page) = lab.get("/dashboard", &ada.cookie).await;
    assert!(page.contains("Refreshes every 15 seconds."), "{page}");
    assert!(!claims_to_refresh(&page), "{page}");
    assert!(noscript_text(&page).contains("Reload the page"), "{page}");
    // htmx polls the partial, so scripts run.
    let (_, partial) = lab.htmx("/dashboard/live", &ada.cookie).await;
    assert!(claims_to_refresh(&partial), "{partial}");
    assert!(!partial.contains("<noscript>"), "{partial}");
}

/// The text of the cell after the row header `label` in the page's no-JavaScript tables, or of
/// the tile labelled `label`.
fn value_shown_for<'a>(page: &'a str, label: &str) -> &'a str {
    let after = page
        .split(&format!(">{label}</th><td class=\"number\">"))
        .nth(1)
        .or_else(|| {
            page.split(&format!(">{label}</dt><dd class=\"tile__value\">"))
                .nth(1)
        })
        .unwrap_or_else(|| panic!("no value shown for {label}"));
    after.split('<').next().unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_traffic_panel_shows_the_delivery_latency_once_notifications_arrive() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (_, before) = lab.htmx("/traffic/live", &ada.cookie).await;
    assert!(!before.contains("Delivery latency"), "{before}");
    lab.post_as(&ada, "/traffic", "").await;
    tokio::time::sleep(Duration::from_secs(30)).await;

    let (status, live) = lab.htmx("/traffic/live", &ada.cookie).await;
    assert_eq!(status, StatusCode::OK);
    // The embedded pipeline on paused time delivers at once.
    assert!(
        live.contains("<dt>Delivery latency</dt><dd title=\"From the publisher's put to the CSV notification in the csv queue, over the last minute (")
            && live.contains(" messages)\">p50 0 ms, p99 0 ms</dd>"),
        "{live}"
    );
    lab.state.traffic.stop_all().await;
}

#[tokio::test(start_paused = true)]
async fn the_dashboard_page_writes_each_value_with_its_unit() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    lab.post_as(&ada, "/traffic", "").await;
    tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    lab.state.traffic.stop_all().await;

    let (_, _, page) = lab.get("/dashboard", &ada.cookie).await;
    let percent = value_shown_for(&page, "Percent in error");
    assert!(
        percent.ends_with('%') && percent[..percent.len() - 1].parse::<f64>().is_ok(),
        "{percent:?}"
    );
    let duration = value_shown_for(&page, "Duration");
    assert!(duration.ends_with("\u{a0}ms"), "{duration:?}");
    let invocations = value_shown_for(&page, "Invocations");
    assert!(invocations.ends_with("\u{a0}count"), "{invocations:?}");
    assert!(
        invocations
            .trim_end_matches("\u{a0}count")
            .parse::<u32>()
            .unwrap()
            > 0,
        "{invocations:?}"
    );
    let oldest = value_shown_for(&page, "ApproximateAgeOfOldestMessage");
    assert!(oldest.ends_with("\u{a0}s"), "{oldest:?}");
}

#[tokio::test]
async fn a_participant_sees_their_own_api_token_which_works_for_them_only() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, headers, page) = lab.get("/api-access", &ada.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let me = lab.state.participants.list().unwrap().remove(0);
    assert!(page.contains(&me.token));
    let bob = lab.join("Bob").await;
    let (_, _, other_page) = lab.get("/api-access", &bob.cookie).await;
    assert!(
        !other_page.contains(&me.token),
        "Bob never sees Ada's token"
    );
    let request = Request::get(format!("/api/v1/participants/{}/accounting", me.id))
        .header(header::AUTHORIZATION, format!("Bearer {}", me.token))
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = lab.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, page) = lab.get("/api-access", "").await;
    assert!(!page.contains("clp_"), "no token without a session");
}
