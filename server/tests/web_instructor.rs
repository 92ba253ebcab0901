//! The instructor's pages, driven through the router with `oneshot`: logging in, the overview
//! with its sorting, filtering and live partial, the actions on one participant, a selection or
//! everyone, the participant detail page and the event log with its downloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use support::app::{INSTRUCTOR, Lab, location, noscript_text, set_cookie, shows_note};

/// Where each name first appears in a page, to compare row order.
fn position(page: &str, name: &str) -> usize {
    page.find(&format!(">{name}</a>"))
        .unwrap_or_else(|| panic!("{name} is not listed"))
}

#[tokio::test]
async fn the_right_token_opens_a_signed_http_only_session() {
    let lab = Lab::open();
    let (status, _, page) = lab.get("/instructor/login", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"name="token" type="password""#), "{page}");

    let (status, headers, _) = lab
        .post("/instructor/login", "", &format!("token={INSTRUCTOR}"))
        .await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/instructor")
    );
    let cookie = set_cookie(&headers).unwrap();
    assert!(cookie.starts_with("chaoslab_instructor="), "{cookie}");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/instructor",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains(INSTRUCTOR), "the token is not the cookie");

    let session = cookie.split(';').next().unwrap();
    let (status, _, page) = lab.get("/instructor", session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Participants</h1>"));
    let (_, _, page) = lab.get("/instructor/login", session).await;
    assert!(page.is_empty(), "a logged-in instructor skips the form");
    let logins = lab.state.events.list(0, 10, None).unwrap();
    assert_eq!(
        logins.last().map(|event| event.kind),
        Some(chaoslab::events::EventKind::InstructorLogin)
    );
}

#[tokio::test]
async fn a_wrong_token_gets_a_401_page_and_no_cookie() {
    let lab = Lab::open();
    for form in ["token=instructor-token-for-test", "token=", ""] {
        let (status, headers, page) = lab.post("/instructor/login", "", form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{form}");
        assert!(set_cookie(&headers).is_none(), "{form}");
        assert!(page.contains("That token is not right"), "{page}");
        assert!(!page.contains(INSTRUCTOR), "no hint of the real token");
    }
}

#[tokio::test]
async fn instructor_pages_without_a_valid_session_go_to_the_login_page() {
    let lab = Lab::open();
    let instructor = lab.log_in().await;
    let forged = instructor
        .cookie
        .replace("chaoslab_instructor=", "chaoslab_instructor=x");
    // Correctly signed, but issued 13 hours ago.
    let issued = chrono::Utc::now().timestamp() - 13 * 3600;
    let jar = axum_extra::extract::cookie::SignedCookieJar::new(lab.state.cookie_key.clone()).add(
        axum_extra::extract::cookie::Cookie::new(
            "chaoslab_instructor",
            format!("instructor.0123456789abcdef.{issued}"),
        ),
    );
    let response = axum::response::IntoResponse::into_response((jar, ()));
    let expired = set_cookie(response.headers())
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    for cookie in ["", forged.as_str(), expired.as_str()] {
        for path in [
            "/instructor",
            "/instructor/table",
            "/instructor/participants/p-0000000000000000",
            "/instructor/events",
            "/instructor/events.csv",
            "/instructor/events.json",
        ] {
            let (status, headers, _) = lab.get(path, cookie).await;
            assert_eq!(
                (status, location(&headers)),
                (StatusCode::SEE_OTHER, "/instructor/login"),
                "{path} with {cookie:?}"
            );
        }
        let (status, headers, _) = lab
            .post("/instructor/actions", cookie, "action=stop&scope=all")
            .await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, "/instructor/login")
        );
    }
    // A polled table asks htmx to go to the login page rather than swapping the redirect in.
    let (status, headers, _) = lab
        .send(
            Request::get("/instructor/table")
                .header("hx-request", "true")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers.get("hx-redirect").unwrap(), "/instructor/login");
}

#[tokio::test]
async fn participant_and_instructor_sessions_never_open_each_others_pages() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let (status, headers, _) = lab.get("/instructor", &ada.cookie).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/instructor/login")
    );
    // The participant's signed value presented under the instructor cookie's name.
    let renamed = ada
        .cookie
        .replace("chaoslab_session=", "chaoslab_instructor=");
    let (status, headers, _) = lab.get("/instructor", &renamed).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/instructor/login")
    );
    let (status, _, _) = lab
        .post(
            "/instructor/actions",
            &ada.cookie,
            &format!("csrf={}&action=remove&scope=all&confirm=yes", ada.csrf),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(lab.state.participants.list().unwrap().len(), 1);

    let instructor = lab.log_in().await;
    let (status, headers, _) = lab.get("/lab/prepare", &instructor.cookie).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/?reason=join")
    );
}

#[tokio::test]
async fn logging_out_needs_the_csrf_token_and_forgets_the_cookie() {
    let lab = Lab::open();
    let instructor = lab.log_in().await;
    let (status, _, _) = lab
        .post("/instructor/logout", &instructor.cookie, "csrf=nope")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, headers, _) = lab
        .post(
            "/instructor/logout",
            &instructor.cookie,
            &format!("csrf={}", instructor.csrf),
        )
        .await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/instructor/login")
    );
    let removal = set_cookie(&headers).unwrap();
    assert!(
        removal.starts_with("chaoslab_instructor=") && removal.contains("Max-Age=0"),
        "{removal}"
    );
}

#[tokio::test]
async fn the_overview_lists_every_participant_with_their_step_and_traffic() {
    let lab = Lab::open();
    let ada = lab.join("Ada Lovelace").await;
    let bob = lab.join("Bob Bobson").await;
    let _ = lab.get("/architecture", &ada.cookie).await;
    let _ = lab.get("/lab/prepare", &ada.cookie).await;
    lab.start_traffic(&bob, "publisher_rate=3").await;
    let _ = lab.get("/lab/start-traffic", &bob.cookie).await;
    let instructor = lab.log_in().await;

    let page = lab.overview("", &instructor).await;
    let ada_row = &page[position(&page, "Ada Lovelace")..position(&page, "Bob Bobson")];
    let bob_row = &page[position(&page, "Bob Bobson")..];
    let first = &chaoslab::lab::LABS[0].steps[0];
    assert!(
        ada_row.contains(&format!("Lab 1, 1. {}", first.title))
            && ada_row.contains("lab 1: 1/7 · lab 2: 0/5"),
        "{ada_row}"
    );
    assert!(
        ada_row.contains(r#"<span class="badge badge--neutral">off</span>"#),
        "no fault yet: {ada_row}"
    );
    assert!(ada_row.contains(">idle<"), "{ada_row}");
    assert!(
        ada_row.contains(">0.0/min<"),
        "no traffic yet, and never -0.0: {ada_row}"
    );
    assert!(bob_row.contains("5. "), "Bob is on step 5: {bob_row}");
    // The default automatic stop is an hour away, and the overview says so.
    assert!(
        bob_row.contains("publishing 3/s (1% malformed, stops in 59 min ")
            || bob_row.contains("publishing 3/s (1% malformed, stops in 60 min 00 s)"),
        "{bob_row}"
    );
    assert!(bob_row.contains(" s), subscribing 2/s"), "{bob_row}");
    assert!(page.contains("<dt>Participants</dt><dd>2</dd>"));
    assert!(page.contains("<dt>Traffic running</dt><dd>1</dd>"));
    assert!(page.contains(&format!(r#"href="/instructor/participants/{}""#, ada.id)));
    assert!(page.contains(&format!(r#"name="ids" value="{}""#, bob.id)));
    lab.state.traffic.stop_all().await;
}

#[tokio::test]
async fn the_overview_claims_to_refresh_itself_only_where_scripts_run() {
    let lab = Lab::open();
    let instructor = lab.log_in().await;
    let page = lab.overview("", &instructor).await;
    let note = "The table refreshes every";
    assert!(page.contains(note), "{page}");
    assert!(
        !shows_note(&page, note),
        "hidden until chaoslab.js shows it: {page}"
    );
    assert!(noscript_text(&page).contains("Reload the page"), "{page}");
}

#[tokio::test]
async fn names_are_escaped_everywhere() {
    let lab = Lab::open();
    let _mallory = lab.join("<script>alert(1)</script>").await;
    let instructor = lab.log_in().await;
    for path in ["/instructor", "/instructor/events"] {
        let (_, _, page) = lab.get(path, &instructor.cookie).await;
        assert!(!page.contains("<script>alert"), "{path}");
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}: {page}"
        );
    }
}

#[tokio::test]
async fn sorting_and_filtering_change_the_order_and_the_rows() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    let cy = lab.join("Cy").await;
    // Bob has done more steps; Ada was seen last; only Cy runs traffic.
    let _ = lab.get("/architecture", &bob.cookie).await;
    let _ = lab.get("/lab/prepare", &bob.cookie).await;
    let _ = lab.get("/lab/create-the-pipeline", &bob.cookie).await;
    lab.start_traffic(&cy, "").await;
    let now = chrono::Utc::now().timestamp_millis();
    for (who, ago_ms) in [(&ada, 1_000), (&bob, 600_000), (&cy, 60_000)] {
        lab.state
            .participants
            .update(&who.id, |participant| {
                participant.last_seen_ms = now - ago_ms
            })
            .unwrap();
    }
    let instructor = lab.log_in().await;
    let order = |page: &str| {
        let mut names = vec!["Ada", "Bob", "Cy"];
        names.retain(|name| page.contains(&format!(">{name}</a>")));
        names.sort_by_key(|name| position(page, name));
        names
    };

    assert_eq!(
        order(&lab.overview("", &instructor).await),
        ["Ada", "Bob", "Cy"]
    );
    let page = lab.overview("?sort=name&order=desc", &instructor).await;
    assert_eq!(order(&page), ["Cy", "Bob", "Ada"]);
    assert!(page.contains(r#"aria-sort="descending""#));
    assert!(
        page.contains(r#"href="/instructor?sort=name&#38;order=asc&#38;status=all""#),
        "the header flips the order"
    );
    assert_eq!(
        order(&lab.overview("?sort=step&order=desc", &instructor).await)[0],
        "Bob"
    );
    assert_eq!(
        order(&lab.overview("?sort=activity&order=desc", &instructor).await),
        ["Ada", "Cy", "Bob"]
    );
    assert_eq!(
        order(&lab.overview("?status=traffic", &instructor).await),
        ["Cy"]
    );
    assert_eq!(
        order(
            &lab.overview("?status=idle&sort=name&order=desc", &instructor)
                .await
        ),
        ["Bob", "Ada"]
    );
    let page = lab.overview("?status=done", &instructor).await;
    assert!(order(&page).is_empty() && page.contains("Nobody matches this filter"));
    assert!(
        page.contains(r#"<option value="done" selected>"#),
        "the menu shows the filter"
    );
    for bad in ["?sort=age", "?order=up", "?status=busy"] {
        let (status, _, page) = lab
            .get(&format!("/instructor{bad}"), &instructor.cookie)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(page.contains("choose one of"), "{page}");
    }
    lab.state.traffic.stop_all().await;
}

#[tokio::test]
async fn the_table_partial_is_a_fragment_that_keeps_polling() {
    let lab = Lab::open();
    let _ada = lab.join("Ada").await;
    let instructor = lab.log_in().await;
    let (status, _, body) = lab
        .send(
            Request::get("/instructor/table?sort=activity&order=desc&status=idle")
                .header(header::COOKIE, &instructor.cookie)
                .header("hx-request", "true")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("<html") && !body.contains("<h1>"), "{body}");
    assert!(body.starts_with(r#"<div id="participants""#), "{body}");
    assert!(body.contains(r#"hx-trigger="every 2s""#));
    assert!(body.contains("sort=activity"), "polls the same view");
    assert!(body.contains(">Ada</a>"));
    assert!(
        body.contains("hx-preserve"),
        "ticked boxes survive the swap"
    );

    let (status, headers, _) = lab
        .get("/instructor/table?sort=errors", &instructor.cookie)
        .await;
    assert_eq!(
        (status, location(&headers)),
        (
            StatusCode::SEE_OTHER,
            "/instructor?sort=errors&order=asc&status=all"
        ),
        "without htmx, the whole overview"
    );
}

#[tokio::test]
async fn stop_one_participant_leaves_the_others_running() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    lab.start_traffic(&ada, "").await;
    lab.start_traffic(&bob, "").await;
    let instructor = lab.log_in().await;
    let (status, headers, _) = lab
        .act(
            &instructor,
            &format!(
                "action=stop&scope=selected&ids={}&sort=errors&order=desc&status=all",
                ada.id
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&headers),
        "/instructor?sort=errors&order=desc&status=all&done=stopped&count=1",
        "back to the same view"
    );
    assert!(!lab.running(&ada));
    assert!(lab.running(&bob));
    let page = lab
        .overview(&location(&headers)["/instructor".len()..], &instructor)
        .await;
    assert!(
        page.contains("Stopped the traffic of 1 participant."),
        "{page}"
    );
    let events = lab.state.events.list(0, 100, Some(&ada.id)).unwrap();
    assert_eq!(
        events
            .last()
            .map(|event| (event.kind, event.detail.as_str())),
        Some((
            chaoslab::events::EventKind::TrafficStopped,
            "by the instructor"
        ))
    );

    let (status, _, _) = lab.act(&instructor, "action=stop&scope=all").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!lab.running(&bob), "stop all");
}

#[tokio::test]
async fn start_a_selection_with_the_forms_rates_and_save_them() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    let cy = lab.join("Cy").await;
    let instructor = lab.log_in().await;
    let (status, headers, _) = lab
        .act(
            &instructor,
            &format!(
                "action=start&scope=selected&ids={}&ids={}&publisher_rate=5&error_percent=10&stop_after_minutes=30&subscriber_rate=4",
                ada.id, bob.id
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location(&headers).ends_with("&done=started&count=2"));
    for who in [&ada, &bob] {
        let traffic = lab.state.traffic.status(&who.id);
        let publisher = traffic.publisher.unwrap();
        assert!(publisher.running);
        assert_eq!(
            (
                publisher.settings.rate,
                publisher.settings.error_rate,
                publisher.settings.stop_after_s
            ),
            (5.0, 0.1, Some(1800))
        );
        assert_eq!(traffic.subscriber.map(|s| s.settings.rate), Some(4.0));
        let saved = lab
            .state
            .participants
            .get(&who.id)
            .unwrap()
            .traffic
            .unwrap();
        assert_eq!(saved.publisher.map(|p| p.rate), Some(5.0));
    }
    assert!(!lab.running(&cy), "not selected");
    let page = lab.overview("", &instructor).await;
    assert!(page.contains("publishing 5/s (10% malformed, stops in "));
    assert!(page.contains(" s), subscribing 4/s"));
    lab.state.traffic.stop_all().await;
}

#[tokio::test]
async fn invalid_rates_are_a_422_page_and_start_nothing() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    let instructor = lab.log_in().await;
    for (rates, message) in [
        // In the form's own words and units, never the API's field names.
        (
            "publisher_rate=500",
            "Objects per second must be from 0.1 to 20 per second; you entered 500.",
        ),
        (
            "error_percent=150",
            "Malformed objects must be from 0 to 100%; you entered 150.",
        ),
        (
            "stop_after_minutes=0",
            "Stop automatically after must be from 1 to 240 minutes; you entered 0.",
        ),
        (
            "subscriber_rate=fast",
            "Messages per second must be a number; you entered &#34;fast&#34;.",
        ),
    ] {
        let (status, _, page) = lab
            .act(&instructor, &format!("action=start&scope=all&{rates}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{rates}");
        assert!(page.contains(message), "{rates}: {page}");
        assert!(page.contains("Nothing was started"), "{page}");
        assert!(!lab.running(&ada) && !lab.running(&bob), "{rates}");
    }
    let (status, _, page) = lab.act(&instructor, "action=start&scope=selected").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("No participant was selected"));
    let (status, _, _) = lab.act(&instructor, "action=explode&scope=all").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn reset_one_after_confirming_empties_their_stack_and_keeps_them() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    let _ = lab.get("/architecture", &ada.cookie).await;
    let _ = lab.get("/lab/prepare", &ada.cookie).await;
    lab.start_traffic(&ada, "").await;
    for who in [&ada, &bob] {
        lab.state
            .backend
            .put_object(
                &who.id,
                "input/manual.json",
                bytes::Bytes::from_static(b"{}"),
            )
            .await
            .unwrap();
    }
    let accounting = |id: String| {
        let backend = lab.state.backend.clone();
        async move { backend.accounting(&id).await.unwrap() }
    };
    assert!(accounting(ada.id.clone()).await.published >= 1);
    let instructor = lab.log_in().await;

    let form = format!("action=reset&scope=selected&ids={}", ada.id);
    let (status, _, page) = lab.act(&instructor, &form).await;
    assert_eq!(status, StatusCode::OK, "a confirmation first");
    assert!(
        page.contains("Reset the pipeline of 1 participant?"),
        "{page}"
    );
    assert!(page.contains(r#"name="confirm" value="yes""#));
    assert!(
        accounting(ada.id.clone()).await.published >= 1,
        "nothing yet"
    );

    let (status, headers, _) = lab.act(&instructor, &format!("{form}&confirm=yes")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location(&headers).ends_with("&done=reset&count=1"));
    let after = accounting(ada.id.clone()).await;
    assert_eq!(
        (
            after.published,
            after.converted,
            after.dead_lettered,
            after.in_flight
        ),
        (0, 0, 0, 0)
    );
    assert!(!lab.running(&ada), "reset stops traffic");
    let kept = lab.state.participants.get(&ada.id).unwrap();
    assert!(
        kept.progress.completed.contains_key("prepare"),
        "progress is kept"
    );
    assert!(lab.state.backend.stack_names(&ada.id).is_some());
    assert_eq!(
        accounting(bob.id.clone()).await.published,
        1,
        "Bob untouched"
    );
    let kinds: Vec<_> = lab
        .state
        .events
        .list(0, 100, Some(&ada.id))
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect();
    assert!(kinds.contains(&chaoslab::events::EventKind::StackReset));
}

#[tokio::test]
async fn remove_one_after_confirming_deletes_them_and_their_stack() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    lab.start_traffic(&ada, "").await;
    let instructor = lab.log_in().await;
    let form = format!("action=remove&scope=selected&ids={}", ada.id);
    let (status, _, page) = lab.act(&instructor, &form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Remove 1 participant?") && page.contains("Ada"),
        "{page}"
    );
    assert!(
        lab.state.participants.get(&ada.id).is_ok(),
        "not before confirming"
    );

    let (status, headers, _) = lab.act(&instructor, &format!("{form}&confirm=yes")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location(&headers).ends_with("&done=removed&count=1"));
    assert!(lab.state.participants.get(&ada.id).is_err());
    assert!(lab.state.backend.stack_names(&ada.id).is_none());
    assert!(!lab.running(&ada));
    let page = lab.overview("", &instructor).await;
    assert!(!page.contains(">Ada</a>") && page.contains(">Bob</a>"));
    assert!(lab.state.backend.stack_names(&bob.id).is_some());
    // Their session no longer opens the lab.
    let (_, headers, _) = lab.get("/lab/prepare", &ada.cookie).await;
    assert_eq!(location(&headers), "/?reason=unknown");
}

#[tokio::test]
async fn unknown_ids_in_a_selection_are_skipped_and_reported() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let instructor = lab.log_in().await;
    let (status, headers, _) = lab
        .act(
            &instructor,
            &format!(
                "action=start&scope=selected&ids={}&ids=p-doesnotexist",
                ada.id
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let target = location(&headers).to_owned();
    assert!(
        target.ends_with("&done=started&count=1&skipped=1"),
        "{target}"
    );
    let page = lab
        .overview(&target["/instructor".len()..], &instructor)
        .await;
    assert!(
        page.contains(
            "Started traffic for 1 participant. 1 selected participant no longer exists and was skipped."
        ),
        "{page}"
    );
    assert!(lab.running(&ada));
    lab.state.traffic.stop_all().await;
}

#[tokio::test]
async fn every_action_without_the_instructors_csrf_token_is_forbidden() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    lab.start_traffic(&ada, "").await;
    let instructor = lab.log_in().await;
    for action in ["stop", "start", "reset", "remove"] {
        for csrf in ["", "csrf=&", "csrf=0000&", &format!("csrf={}&", ada.csrf)] {
            let (status, _, page) = lab
                .post(
                    "/instructor/actions",
                    &format!("{}; {}", instructor.cookie, ada.cookie),
                    &format!("{csrf}action={action}&scope=all&confirm=yes"),
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action} with {csrf:?}");
            assert!(page.contains("nothing was changed"), "{page}");
        }
    }
    // Cross-site, even with the right token.
    let request = Request::post("/instructor/actions")
        .header(header::COOKIE, &instructor.cookie)
        .header(header::ORIGIN, "http://evil.example")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "csrf={}&action=remove&scope=all&confirm=yes",
            instructor.csrf
        )))
        .unwrap();
    assert_eq!(lab.send(request).await.0, StatusCode::FORBIDDEN);
    assert!(lab.running(&ada), "still running");
    assert!(!lab.running(&bob), "not started");
    assert_eq!(lab.state.participants.list().unwrap().len(), 2);
    assert!(lab.state.backend.stack_names(&bob.id).is_some());
    lab.state.traffic.stop_all().await;
}

#[tokio::test]
async fn the_detail_page_shows_their_dashboard_stack_and_step_history() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let _ = lab.get("/architecture", &ada.cookie).await;
    let _ = lab.get("/lab/prepare", &ada.cookie).await;
    let instructor = lab.log_in().await;
    let (status, _, page) = lab
        .get(
            &format!("/instructor/participants/{}", ada.id),
            &instructor.cookie,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Ada</h1>"));
    let names = lab.state.backend.stack_names(&ada.id).unwrap();
    assert!(page.contains(&names.bucket) && page.contains(&names.function_name));

    let widgets = chaoslab::ops::dashboard::data(&lab.state, &ada.id, 60)
        .await
        .unwrap()
        .widgets;
    assert_eq!(page.matches("<div data-chart ").count(), widgets.len());
    assert_eq!(
        page.matches(r#"<script type="application/json">"#).count(),
        widgets.len()
    );
    for widget in &widgets {
        assert!(page.contains(&widget.title), "{}", widget.title);
    }
    assert!(
        page.contains("data-chart-fallback"),
        "a table without JavaScript"
    );

    let steps: Vec<_> = chaoslab::lab::all_steps().collect();
    assert!(page.contains(&format!(
        "Lab 1, 1. {} <small>(current)</small>",
        steps[0].title
    )));
    assert_eq!(
        page.matches(r#"<span class="badge badge--met">done</span>"#)
            .count(),
        1
    );
    assert_eq!(
        page.matches(r#"<span class="badge badge--todo">not yet</span>"#)
            .count(),
        steps.len() - 1
    );
    assert!(page.contains(">joined<") && page.contains(">step done<"));
    assert!(
        page.contains(&format!(">{}<", steps[0].id)),
        "the step's event"
    );

    let (status, _, page) = lab
        .get(
            &format!("/instructor/participants/{}?range=3h", ada.id),
            &instructor.cookie,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<option value="3h" selected>"#));
}

#[tokio::test]
async fn unknown_participants_are_a_404_page() {
    let lab = Lab::open();
    let instructor = lab.log_in().await;
    let (status, _, page) = lab
        .get(
            "/instructor/participants/p-doesnotexist",
            &instructor.cookie,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("There is no participant"), "{page}");
    assert!(
        page.contains(r#"href="/instructor">Back to the overview</a>"#),
        "a way back: {page}"
    );
}

#[tokio::test]
async fn the_event_log_lists_joins_and_steps_and_downloads_as_csv_and_json() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let _bob = lab.join("Bob").await;
    let _ = lab.get("/architecture", &ada.cookie).await;
    let _ = lab.get("/lab/prepare", &ada.cookie).await;
    let instructor = lab.log_in().await;

    let (status, _, page) = lab.get("/instructor/events", &instructor.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(">joined<") && page.contains(">step done<"));
    assert!(page.contains(&format!(
        r#"href="/instructor/participants/{}">Ada</a>"#,
        ada.id
    )));
    assert!(page.contains(r#"href="/instructor/events.csv""#));
    assert!(page.contains(r#"href="/instructor/events.json""#));
    assert!(
        page.find(">instructor logged in<").unwrap() < page.find(">joined<").unwrap(),
        "newest first"
    );
    let (status, _, page) = lab
        .get("/instructor/events?after=2", &instructor.cookie)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Events 3 to 4"), "{page}");
    let (status, _, _) = lab
        .get("/instructor/events?after=soon", &instructor.cookie)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, headers, csv) = lab.get("/instructor/events.csv", &instructor.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let kinds: Vec<String> = reader
        .records()
        .map(|record| record.unwrap()[3].to_owned())
        .collect();
    assert_eq!(kinds, ["joined", "joined", "step_done", "instructor_login"]);

    let (status, headers, json) = lab.get("/instructor/events.json", &instructor.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let events: Vec<chaoslab::events::Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0].participant.as_deref(), Some(ada.id.as_str()));
}

#[tokio::test(start_paused = true)]
async fn throughput_error_ratio_and_broken_slos_show_once_traffic_has_flowed() {
    let lab = Lab::open();
    let ada = lab.join("Ada").await;
    let bob = lab.join("Bob").await;
    lab.start_traffic(&ada, "").await;
    lab.start_traffic(&bob, "error_percent=50").await;
    for who in [&ada, &bob] {
        let (status, _, _) = lab
            .post(
                "/slo",
                &who.cookie,
                &format!("csrf={}&max_percent=5&window_minutes=5", who.csrf),
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    // Ten minutes of pipeline time: failing objects reach the DLQ after about three.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let instructor = lab.log_in().await;
    let names = lab.state.backend.stack_names(&ada.id).unwrap();
    let rate = chaoslab::web::instructor::row::published_per_minute(
        lab.state.backend.as_ref(),
        &ada.id,
        &names,
    )
    .await
    .unwrap();
    assert!((100.0..=140.0).contains(&rate), "2 per second: {rate}");

    let page = lab.overview("?sort=errors&order=desc", &instructor).await;
    assert!(
        position(&page, "Bob") < position(&page, "Ada"),
        "Bob fails more"
    );
    assert!(page.contains(&format!("{rate:.1}/min")), "{page}");
    let bob_row = &page[position(&page, "Bob")..position(&page, "Ada")];
    assert!(bob_row.contains("badge--not-met"), "{bob_row}");
    let ratio: f64 = bob_row
        .split(r#"<td class="number">"#)
        .nth(2)
        .unwrap()
        .split('%')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((30.0..=70.0).contains(&ratio), "about half: {ratio}");

    let page = lab.overview("?status=slo_broken", &instructor).await;
    assert!(page.contains(">Bob</a>") && !page.contains(">Ada</a>"));
    assert!(page.contains("<dt>SLO not met</dt><dd>1</dd>"));
    lab.state.traffic.stop_all().await;
}
