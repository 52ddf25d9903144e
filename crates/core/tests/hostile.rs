#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bad tenants and hostile servers: a tiny HTTP server (a tokio `TcpListener`) that answers
//! the token endpoint or Graph badly on purpose: a body dripped byte by byte, a huge body,
//! invalid JSON, a redirect loop, a 200 carrying an error, a connection closed mid-answer.
//! Each time the client must give a clear error within its timeouts, never hang, never fill
//! memory, never take garbage for a token or an object, and never send a create twice when
//! it cannot know whether the first one landed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use appgrant_core::cloud::{Cloud, Endpoints};
use appgrant_core::graph::{Expect, GraphClient, GraphError, RetryPolicy, StaticToken};
use appgrant_core::identity::{http_client_for, Access, Authenticator, MemoryStore, SignInConfig};
use appgrant_core::secret::Secret;
use appgrant_core::verify::client_credentials_token;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the server misbehaves on every request (the OpenID discovery document excepted).
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// Announces 10 kB, then sends one byte every 100 ms.
    SlowBody,
    /// 200 with 64 MB of JSON whitespace and no length.
    HugeBody,
    /// 200 with a truncated JSON document.
    InvalidJson,
    /// 302 to itself, forever.
    RedirectLoop,
    /// 200 with the error shape of `body` (Graph's or the identity platform's).
    ErrorWith200(&'static str),
    /// Announces 1 kB, sends 20 bytes, closes.
    CloseMidAnswer,
}

const GRAPH_ERROR: &str =
    r#"{"error":{"code":"Request_BadRequest","message":"The tenant refused this request."}}"#;
const TOKEN_ERROR: &str = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;

struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
}

async fn hostile(how: Hostile) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let _ = serve(stream, how, &counter).await;
            });
        }
    });
    Server { base, requests }
}

/// Reads one request (headers and a `Content-Length` body) and misbehaves.
async fn serve(mut s: TcpStream, how: Hostile, counter: &AtomicUsize) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    if path.ends_with("/openid-configuration") {
        // The tenant exists; the trouble starts at the endpoint under test.
        return respond(&mut s, "200 OK", "{}").await;
    }
    counter.fetch_add(1, Ordering::SeqCst);
    match how {
        Hostile::SlowBody => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n{")
                .await?;
            for _ in 0..10_000 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                s.write_all(b" ").await?;
            }
            Ok(())
        }
        Hostile::HugeBody => {
            s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[",
            )
            .await?;
            let block = vec![b' '; 1 << 20];
            for _ in 0..64 {
                s.write_all(&block).await?;
            }
            s.write_all(b"]").await
        }
        Hostile::InvalidJson => respond(&mut s, "200 OK", r#"{"access_token": "eyJ"#).await,
        Hostile::RedirectLoop => {
            let answer =
                format!("HTTP/1.1 302 Found\r\nlocation: {path}\r\ncontent-length: 0\r\n\r\n");
            s.write_all(answer.as_bytes()).await
        }
        Hostile::ErrorWith200(body) => respond(&mut s, "200 OK", body).await,
        Hostile::CloseMidAnswer => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"id\":\"0000-1111\",")
                .await?;
            s.shutdown().await
        }
    }
}

async fn respond(s: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(answer.as_bytes()).await
}

fn endpoints(server: &Server) -> Endpoints {
    Cloud::custom(server.base.clone(), server.base.clone())
        .endpoints()
        .unwrap()
}

/// A short-fused policy, so a slow server is given up on in seconds.
fn policy() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_secs(2),
        budget: Duration::from_secs(3),
        ..RetryPolicy::fast()
    }
}

fn graph(server: &Server) -> GraphClient {
    let endpoints = endpoints(server);
    GraphClient::new(
        http_client_for(&endpoints).unwrap(),
        &endpoints.graph,
        Arc::new(StaticToken(Secret::new("token".into()))),
    )
    .with_policy(policy())
}

/// Runs `f`, asserting it ends within `limit`; returns its result.
async fn within<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("still waiting after {limit:?}"));
    assert!(started.elapsed() <= limit);
    out
}

// ---- Graph ----

#[tokio::test]
async fn graph_slow_body_gives_up_within_the_budget_and_a_request_timeout() {
    let server = hostile(Hostile::SlowBody).await;
    let e = within(Duration::from_secs(8), graph(&server).get("applications"))
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::GaveUp { .. }), "{e:?}");
    assert!(
        e.to_string().contains("broke before its answer arrived"),
        "{e}"
    );
}

#[tokio::test]
async fn graph_huge_body_is_refused_before_it_fills_memory() {
    let server = hostile(Hostile::HugeBody).await;
    let e = within(Duration::from_secs(20), graph(&server).get("applications"))
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::Decode(_)), "{e:?}");
    assert!(e.to_string().contains("larger than 32 MB"), "{e}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1, "not retried");
}

#[tokio::test]
async fn graph_invalid_json_is_an_error_not_an_empty_object() {
    let server = hostile(Hostile::InvalidJson).await;
    let e = graph(&server).get("applications").await.unwrap_err();
    assert!(matches!(e, GraphError::Decode(_)), "{e:?}");
    assert!(e.to_string().contains("not JSON"), "{e}");
}

#[tokio::test]
async fn graph_redirect_is_not_followed() {
    let server = hostile(Hostile::RedirectLoop).await;
    let e = graph(&server).get("applications").await.unwrap_err();
    assert_eq!(e.status(), Some(302), "{e:?}");
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "one request, no loop"
    );
}

#[tokio::test]
async fn graph_error_shape_in_a_200_is_an_error_not_an_object() {
    let server = hostile(Hostile::ErrorWith200(GRAPH_ERROR)).await;
    let e = graph(&server)
        .post(
            "applications",
            &json!({"displayName": "x"}),
            Expect::Settled,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("Request_BadRequest"), "{e:?}");
    assert!(
        e.to_string().contains("The tenant refused this request."),
        "{e}"
    );
}

#[tokio::test]
async fn graph_answer_cut_mid_way_is_retried_for_reads_but_a_create_is_never_sent_twice() {
    let server = hostile(Hostile::CloseMidAnswer).await;
    let e = within(Duration::from_secs(8), graph(&server).get("applications"))
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::GaveUp { .. }), "{e:?}");
    assert!(
        server.requests.load(Ordering::SeqCst) > 1,
        "a read is retried"
    );

    let server = hostile(Hostile::CloseMidAnswer).await;
    let e = graph(&server)
        .create(
            "applications",
            &json!({"displayName": "x"}),
            Expect::Settled,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::Dropped(_)), "{e:?}");
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "the create may have landed: the caller looks before sending it again"
    );
}

// ---- Token endpoint (client credentials, as verification gets its app-only token) ----

async fn app_token(server: &Server) -> Result<(Secret<String>, Duration), String> {
    let endpoints = endpoints(server);
    let policy = RetryPolicy {
        base: Duration::from_millis(50),
        cap: Duration::from_millis(100),
        ..policy()
    };
    client_credentials_token(
        &http_client_for(&endpoints).unwrap(),
        &endpoints,
        "contoso.onmicrosoft.com",
        policy,
        "11111111-2222-3333-4444-555555555555",
        &Secret::new("not-a-real-secret".into()),
        |_| {},
    )
    .await
}

#[tokio::test]
async fn token_slow_body_ends_within_the_clients_timeout() {
    // AppGrant's HTTP client allows 30 s per call: the slow server is cut off there.
    let server = hostile(Hostile::SlowBody).await;
    let e = within(Duration::from_secs(40), app_token(&server))
        .await
        .unwrap_err();
    assert!(e.contains("could not be read"), "{e}");
}

#[tokio::test]
async fn token_huge_body_is_refused() {
    let server = hostile(Hostile::HugeBody).await;
    let e = within(Duration::from_secs(20), app_token(&server))
        .await
        .unwrap_err();
    assert!(e.contains("larger than 32 MB"), "{e}");
}

#[tokio::test]
async fn token_invalid_json_and_error_in_a_200_are_errors_never_an_empty_token() {
    let server = hostile(Hostile::InvalidJson).await;
    let e = app_token(&server).await.unwrap_err();
    assert!(e.contains("not JSON"), "{e}");

    let server = hostile(Hostile::ErrorWith200(TOKEN_ERROR)).await;
    let e = app_token(&server).await.unwrap_err();
    assert!(e.contains("AADSTS7000215"), "{e}");

    let server = hostile(Hostile::ErrorWith200(r#"{"token_type":"Bearer"}"#)).await;
    let e = app_token(&server).await.unwrap_err();
    assert!(e.contains("no access token"), "{e}");
}

#[tokio::test]
async fn token_redirect_and_cut_answer_are_clear_errors() {
    let server = hostile(Hostile::RedirectLoop).await;
    let e = app_token(&server).await.unwrap_err();
    assert!(e.contains("HTTP 302"), "{e}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);

    let server = hostile(Hostile::CloseMidAnswer).await;
    let e = within(Duration::from_secs(10), app_token(&server))
        .await
        .unwrap_err();
    assert!(e.contains("could not be read"), "{e}");
}

// ---- Token endpoint (admin sign-in: the device-code endpoint through oauth2) ----

async fn device_code(server: &Server) -> String {
    let mut config = SignInConfig::new(endpoints(server));
    config.tenant = "contoso.onmicrosoft.com".into();
    let auth = Authenticator::new(config, Arc::new(MemoryStore::new())).unwrap();
    within(
        Duration::from_secs(40),
        auth.start_device_code(Access::ReadTenant),
    )
    .await
    .map(|_| ())
    .unwrap_err()
    .to_string()
}

#[tokio::test]
async fn sign_in_endpoint_misbehaving_gives_a_clear_error_each_time() {
    for (how, expect) in [
        (Hostile::InvalidJson, "could not be understood"),
        (
            Hostile::ErrorWith200(TOKEN_ERROR),
            "could not be understood",
        ),
        (Hostile::RedirectLoop, "did not answer as Microsoft does"),
        (Hostile::CloseMidAnswer, "Could not reach Microsoft"),
        (Hostile::HugeBody, "could not be understood"),
    ] {
        let server = hostile(how).await;
        let message = device_code(&server).await;
        assert!(message.contains(expect), "{how:?}: {message}");
        assert_eq!(server.requests.load(Ordering::SeqCst), 1, "{how:?}");
    }
}
