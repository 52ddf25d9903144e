//! The loopback redirect listener for the browser sign-in (RFC 8252 §7.3).
//!
//! Bound to 127.0.0.1 on a random free port; the redirect URI is `http://localhost:{port}`
//! (Entra ignores the port for loopback registrations). Each connection is handled on its own
//! task with a read deadline, so a client that never finishes its request cannot block the
//! real callback. Exactly one callback is accepted: it must be a `GET /` with our `Host`, and
//! carry the `state` we sent. Anything else gets an error page and the flow keeps waiting;
//! an `error=` callback with the right `state` ends the flow cleanly. After the one valid
//! callback the listener is dropped, so later requests are refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::secret::Secret;

/// How long one connection may take to send its request head.
const READ_DEADLINE: Duration = Duration::from_secs(10);
/// The most we read of a request head; a browser's is well under this.
const MAX_HEAD: usize = 16 * 1024;

/// What the browser brought back.
#[derive(Debug)]
pub enum Callback {
    /// The authorization code (single use).
    Code(Secret<String>),
    /// Microsoft (or the user) refused: `error` and `error_description` from the redirect.
    Error {
        error: String,
        description: Option<String>,
    },
}

/// Why waiting for the callback ended without one.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("sign-in was cancelled")]
    Cancelled,
    #[error("no answer from the browser within {0:?}")]
    TimedOut(Duration),
    #[error("could not listen for the browser's answer: {0}")]
    Io(#[from] std::io::Error),
}

pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
}

impl LoopbackListener {
    /// Listens on 127.0.0.1 with a port the OS picks.
    pub async fn bind() -> Result<Self, LoopbackError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Self { listener, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redirect URI to send in the authorization request.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Waits for the one callback that carries `expected_state`.
    pub async fn wait(
        self,
        expected_state: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Callback, LoopbackError> {
        let (tx, mut rx) = mpsc::channel::<Callback>(1);
        let done = Arc::new(AtomicBool::new(false));
        let expected = Arc::new(expected_state.to_string());
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let conn = Connection {
                        port: self.port,
                        expected: Arc::clone(&expected),
                        done: Arc::clone(&done),
                        tx: tx.clone(),
                    };
                    tokio::spawn(conn.handle(stream));
                }
                Some(callback) = rx.recv() => return Ok(callback),
                () = cancel.cancelled() => return Err(LoopbackError::Cancelled),
                () = &mut deadline => return Err(LoopbackError::TimedOut(timeout)),
            }
        }
    }
}

struct Connection {
    port: u16,
    expected: Arc<String>,
    done: Arc<AtomicBool>,
    tx: mpsc::Sender<Callback>,
}

/// A parsed request head: method, target and Host header.
struct Head {
    method: String,
    target: String,
    host: Option<String>,
}

/// Everything the listener does with one request's bytes, without a socket: `None` when it
/// drops the request without a word (not an HTTP request head), else the status, the page
/// and the callback that ends the flow, if any. The fuzz targets drive this.
pub fn answer(
    raw: &[u8],
    port: u16,
    expected_state: &str,
    done: &AtomicBool,
) -> Option<(u16, String, Option<Callback>)> {
    if raw.len() > MAX_HEAD {
        return None;
    }
    let head = parse_head(raw)?;
    Some(judge(&head, port, expected_state, done))
}

impl Connection {
    async fn handle(self, mut stream: TcpStream) {
        let head = match tokio::time::timeout(READ_DEADLINE, read_head(&mut stream)).await {
            Ok(Some(head)) => head,
            // Too slow, too big or not HTTP: drop it without a word.
            _ => return,
        };
        let (status, page, outcome) = judge(&head, self.port, &self.expected, &self.done);
        let _ = respond(&mut stream, status, &page).await;
        if let Some(callback) = outcome {
            let _ = self.tx.send(callback).await;
        }
    }
}

/// Decides what to answer and whether this request ends the flow.
fn judge(
    head: &Head,
    port: u16,
    expected_state: &str,
    done: &AtomicBool,
) -> (u16, String, Option<Callback>) {
    let allowed_hosts = [format!("localhost:{port}"), format!("127.0.0.1:{port}")];
    if !head
        .host
        .as_deref()
        .is_some_and(|h| allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)))
    {
        return (
            400,
            page(false, "This request was not meant for AppGrant."),
            None,
        );
    }
    if head.method != "GET" {
        return (
            405,
            page(
                false,
                "AppGrant only expects the browser to come back here.",
            ),
            None,
        );
    }
    let Ok(url) = url::Url::parse(&format!("http://localhost{}", head.target)) else {
        return (
            400,
            page(false, "AppGrant could not read this address."),
            None,
        );
    };
    if url.path() != "/" {
        return (
            404,
            page(false, "Nothing here. You can close this tab."),
            None,
        );
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(expected_state) {
        return (
                400,
                page(false, "This sign-in answer does not belong to the sign-in AppGrant started. Go back to AppGrant and start again if needed."),
                None,
            );
    }
    if done.load(Ordering::SeqCst) {
        return (
            409,
            page(
                false,
                "AppGrant already received this sign-in. You can close this tab.",
            ),
            None,
        );
    }
    if let Some(error) = param("error") {
        done.store(true, Ordering::SeqCst);
        let description = param("error_description");
        return (
            200,
            page(
                false,
                "Sign-in did not finish. Go back to AppGrant to see why and what to do next.",
            ),
            Some(Callback::Error { error, description }),
        );
    }
    match param("code").filter(|c| !c.is_empty()) {
        Some(code) if !done.swap(true, Ordering::SeqCst) => (
            200,
            page(
                true,
                "You are signed in to AppGrant. You can close this tab and go back to AppGrant.",
            ),
            Some(Callback::Code(Secret::new(code))),
        ),
        Some(_) => (
            409,
            page(
                false,
                "AppGrant already received this sign-in. You can close this tab.",
            ),
            None,
        ),
        None => (
            400,
            page(false, "The sign-in answer is missing its code."),
            None,
        ),
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<Head> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_HEAD {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
    }
    parse_head(&buf)
}

/// The request line's method and target and the Host header of a request head.
fn parse_head(buf: &[u8]) -> Option<Head> {
    let text = String::from_utf8_lossy(buf);
    let mut lines = text.split("\r\n");
    let mut request = lines.next()?.split(' ');
    let method = request.next()?.to_string();
    let target = request.next()?.to_string();
    let host = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim().to_string());
    Some(Head {
        method,
        target,
        host,
    })
}

async fn respond(stream: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn page(ok: bool, message: &str) -> String {
    let (title, colour) = if ok {
        ("Signed in", "#166534")
    } else {
        ("Sign-in not completed", "#991b1b")
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>AppGrant: {title}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}\
h1{{color:{colour}}}</style></head><body><h1>{title}</h1><p>{message}</p></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, target: &str, host: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let req = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        let status = out
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, out)
    }

    async fn start() -> (
        u16,
        tokio::task::JoinHandle<Result<Callback, LoopbackError>>,
        CancellationToken,
    ) {
        let listener = LoopbackListener::bind().await.expect("bind");
        let port = listener.port();
        assert_eq!(listener.redirect_uri(), format!("http://localhost:{port}"));
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        let handle = tokio::spawn(async move {
            listener
                .wait("s3cret-state", Duration::from_secs(20), &c)
                .await
        });
        (port, handle, cancel)
    }

    #[tokio::test]
    async fn accepts_exactly_one_valid_callback_then_closes() {
        let (port, handle, _cancel) = start().await;
        let host = format!("localhost:{port}");
        let (status, body) = get(port, "/?code=abc&state=s3cret-state", &host).await;
        assert_eq!(status, 200);
        assert!(body.contains("You can close this tab"), "{body}");
        match handle.await.expect("join").expect("callback") {
            Callback::Code(code) => assert_eq!(code.expose(), "abc"),
            other => panic!("expected a code, got {other:?}"),
        }
        // The listener is gone: a second callback cannot even connect.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            TcpStream::connect(("127.0.0.1", port)).await.is_err(),
            "listener must be closed"
        );
    }

    #[tokio::test]
    async fn hostile_requests_are_refused_and_the_flow_keeps_waiting() {
        let (port, handle, _cancel) = start().await;
        let host = format!("localhost:{port}");
        let cases = [
            ("/?code=abc&state=wrong", host.as_str(), 400),
            ("/?state=s3cret-state", host.as_str(), 400),
            ("/other?code=abc&state=s3cret-state", host.as_str(), 404),
            ("/?code=abc&state=s3cret-state", "evil.example.com", 400),
        ];
        for (target, h, expected) in cases {
            let (status, _) = get(port, target, h).await;
            assert_eq!(status, expected, "{target} with Host {h}");
        }
        assert!(!handle.is_finished(), "none of those may end the flow");
        let (status, _) = get(
            port,
            "/?code=real&state=s3cret-state",
            &format!("127.0.0.1:{port}"),
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            matches!(handle.await.expect("join"), Ok(Callback::Code(c)) if c.expose() == "real")
        );
    }

    #[tokio::test]
    async fn an_error_callback_ends_the_flow_cleanly() {
        let (port, handle, _cancel) = start().await;
        let (status, body) = get(
            port,
            "/?error=access_denied&error_description=AADSTS65004%3A+declined&state=s3cret-state",
            &format!("localhost:{port}"),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.contains("Sign-in did not finish"));
        match handle.await.expect("join").expect("callback") {
            Callback::Error { error, description } => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("AADSTS65004: declined"));
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_client_does_not_block_the_real_callback() {
        let (port, handle, _cancel) = start().await;
        // Opens a connection and sends half a request, then stalls.
        let mut slow = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        slow.write_all(b"GET /?code=x&state=s3cret-state HTTP/1.1\r\nHost: loc")
            .await
            .expect("write");
        let (status, _) = get(
            port,
            "/?code=real&state=s3cret-state",
            &format!("localhost:{port}"),
        )
        .await;
        assert_eq!(status, 200);
        let callback = tokio::time::timeout(Duration::from_secs(2), handle)
            .await
            .expect("the real callback is not held up")
            .expect("join");
        assert!(matches!(callback, Ok(Callback::Code(c)) if c.expose() == "real"));
    }

    #[tokio::test]
    async fn cancel_and_timeout_end_the_wait() {
        let (_port, handle, cancel) = start().await;
        cancel.cancel();
        assert!(matches!(
            handle.await.expect("join"),
            Err(LoopbackError::Cancelled)
        ));

        let listener = LoopbackListener::bind().await.expect("bind");
        let result = listener
            .wait("s", Duration::from_millis(50), &CancellationToken::new())
            .await;
        assert!(matches!(result, Err(LoopbackError::TimedOut(_))));
    }
}
