//! What a call records with `tracing`, read by a capturing subscriber: the span's fields (each
//! recorded once), the events inside the span at azure_core's levels (a try without a response at
//! INFO; responses, retry decisions and the final failure at DEBUG), a timeout logged as a
//! timeout and a refused connection as a refused connection, and nothing secret anywhere.

#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] functions

mod common;

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acs_identity::{
    CommunicationIdentityClient, CommunicationUserIdentifier, RetryOptions, TokenScope,
};
use common::*;
use httpmock::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// One recorded value: the span or event it belongs to, the field and its value as text.
#[derive(Debug, Clone)]
struct Recorded {
    span: String,
    field: String,
    value: String,
}

/// One event: its level, message, fields, and the span it was emitted in.
#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    span: Option<String>,
    fields: Vec<(String, String)>,
}

impl Captured {
    fn message(&self) -> &str {
        self.field("message").unwrap_or_default()
    }
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
struct Capture {
    /// Every value recorded on a span, in order (so a field recorded twice shows twice).
    span_values: Arc<Mutex<Vec<Recorded>>>,
    events: Arc<Mutex<Vec<Captured>>>,
}

impl Capture {
    fn span_values(&self, span: &str, field: &str) -> Vec<String> {
        self.span_values
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.span == span && r.field == field)
            .map(|r| r.value.clone())
            .collect()
    }
    fn events(&self) -> Vec<Captured> {
        self.events.lock().unwrap().clone()
    }
    fn event(&self, message: &str) -> Captured {
        let events = self.events();
        events
            .iter()
            .find(|e| e.message() == message)
            .cloned()
            .unwrap_or_else(|| panic!("no event {message:?} in {events:#?}"))
    }
    /// Everything captured, as text: for the secret checks.
    fn all_text(&self) -> String {
        format!(
            "{:?}{:?}",
            self.span_values.lock().unwrap(),
            self.events.lock().unwrap()
        )
    }
}

#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let span = attrs.metadata().name().to_owned();
        let mut values = self.span_values.lock().unwrap();
        for (field, value) in fields.0 {
            values.push(Recorded {
                span: span.clone(),
                field,
                value,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        let span = ctx
            .span(id)
            .map(|s| s.name().to_owned())
            .unwrap_or_default();
        let mut recorded = self.span_values.lock().unwrap();
        for (field, value) in fields.0 {
            recorded.push(Recorded {
                span: span.clone(),
                field,
                value,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("acs_identity") {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.events.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            span: ctx.event_span(event).map(|s| s.name().to_owned()),
            fields: fields.0,
        });
    }
}

/// Runs `call` with a capturing subscriber as this thread's default (the tests run on the
/// current-thread runtime, so every poll of the call happens here).
async fn captured<F: Future>(call: F) -> (F::Output, Capture) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let output = call.await;
    (output, capture)
}

fn user() -> CommunicationUserIdentifier {
    CommunicationUserIdentifier::new(USER)
}

const SPAN: &str = "CommunicationIdentity-issueToken";

#[tokio::test]
async fn a_retried_call_records_each_span_field_once() {
    let server = MockServer::start_async().await;
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    recording(
        &server,
        |when| when.any_request(),
        move |_| {
            if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                respond(
                    503,
                    Some("application/json"),
                    r#"{"error":{"code":"Busy","message":"busy"}}"#,
                )
            } else {
                respond(200, Some(JSON_UTF8), &token_body())
            }
        },
    )
    .await;
    let c = client(&server);
    let (token, capture) = captured(c.get_token(&user(), &[TokenScope::Chat], None)).await;
    let token = token.unwrap();

    assert_eq!(
        capture.span_values(SPAN, "attempts"),
        ["3"],
        "recorded once"
    );
    assert_eq!(capture.span_values(SPAN, "status"), ["200"]);
    assert_eq!(capture.span_values(SPAN, "api_version"), ["2023-10-01"]);
    let ids = capture.span_values(SPAN, "client_request_id");
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].len(), 36, "{ids:?}");

    let events = capture.events();
    assert!(
        events.iter().all(|e| e.span.as_deref() == Some(SPAN)),
        "every event is inside the call's span: {events:#?}"
    );
    let sending: Vec<_> = events
        .iter()
        .filter(|e| e.message() == "sending request")
        .collect();
    assert_eq!(sending.len(), 3);
    assert!(sending.iter().all(|e| e.level == Level::DEBUG));
    let retries: Vec<_> = events
        .iter()
        .filter(|e| e.message() == "retrying after a retryable status")
        .collect();
    assert_eq!(retries.len(), 2);
    assert!(retries.iter().all(|e| e.level == Level::DEBUG));
    assert_eq!(retries[0].field("status"), Some("503"));
    assert_eq!(retries[1].field("attempt"), Some("2"));
    assert_eq!(capture.event("response").field("status"), Some("200"));

    let text = capture.all_text();
    assert!(!text.contains(token.token.secret()), "the token: {text}");
    assert!(!text.contains(KEY), "the key: {text}");
    assert!(!text.contains("Signature="), "a signature: {text}");
}

#[tokio::test]
async fn a_timeout_is_logged_as_a_timeout() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).delay(Duration::from_millis(400));
        })
        .await;
    let mut options = fast_options().with_per_try_timeout(Duration::from_millis(50));
    options.retry = options.retry.with_max_retries(1);
    let c = client_with(&server, options);
    let (result, capture) = captured(c.get_token(&user(), &[TokenScope::Chat], None)).await;
    assert!(result.unwrap_err().is_timeout());

    let retried = capture.event("request failed; retrying after a transport failure");
    assert_eq!(retried.level, Level::INFO);
    assert_eq!(retried.field("timeout"), Some("true"));
    assert_eq!(retried.field("connect"), Some("false"));
    let last = capture.event("request failed");
    assert_eq!(last.level, Level::INFO);
    assert_eq!(last.field("timeout"), Some("true"));
    assert_eq!(last.field("connect"), Some("false"));
    let failed = capture.event("call failed");
    assert_eq!(failed.level, Level::DEBUG);
    assert_eq!(failed.span.as_deref(), Some(SPAN), "inside the span");
    assert_eq!(failed.field("kind"), Some("transport error"));
    assert_eq!(failed.field("timeout"), Some("true"));
    assert_eq!(failed.field("connect"), Some("false"));
    assert_eq!(capture.span_values(SPAN, "attempts"), ["2"]);
    assert!(
        capture.span_values(SPAN, "status").is_empty(),
        "no response"
    );
    assert!(!capture.all_text().contains(KEY));
}

#[tokio::test]
async fn a_refused_connection_is_logged_as_one_and_a_service_error_with_its_code() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut options = fast_options();
    options.retry = RetryOptions::none();
    let c = CommunicationIdentityClient::from_connection_string(
        &format!("endpoint=http://127.0.0.1:{port}/;accesskey={KEY}"),
        Some(options),
    )
    .unwrap();
    let (result, capture) = captured(c.delete_user(&user(), None)).await;
    assert!(result.unwrap_err().is_connect());
    let failed = capture.event("call failed");
    assert_eq!(
        failed.span.as_deref(),
        Some("CommunicationIdentity-deleteUser")
    );
    assert_eq!(failed.field("connect"), Some("true"));
    assert_eq!(failed.field("timeout"), Some("false"));
    assert_eq!(
        capture.event("request failed").field("connect"),
        Some("true")
    );

    let server = MockServer::start_async().await;
    recording(
        &server,
        |when| when.any_request(),
        |_| {
            respond(
                400,
                Some("application/json"),
                r#"{"error":{"code":"ValidationError","message":"Invalid scopes - Scopes field is required.","target":"scopes"}}"#,
            )
        },
    )
    .await;
    let (result, capture) = captured(client(&server).get_token(&user(), &[], None)).await;
    assert_eq!(result.unwrap_err().code(), Some("ValidationError"));
    let failed = capture.event("call failed");
    assert_eq!(failed.span.as_deref(), Some(SPAN));
    assert_eq!(failed.field("code"), Some("ValidationError"));
    assert_eq!(failed.field("status"), Some("400"));
    assert_eq!(capture.span_values(SPAN, "status"), ["400"]);
    assert_eq!(capture.span_values(SPAN, "attempts"), ["1"]);
}
