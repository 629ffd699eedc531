//! The control socket server. One task per client; each request line is
//! parsed and sent to the daemon core as `(Request, oneshot::Sender<Response>)`;
//! `watch` is answered here from the core's event broadcast.
//!
//! Invariant: a client can never make the server panic or block the core:
//! lines are length-capped, bad JSON gets an error line, a core that does
//! not answer in [`CORE_TIMEOUT`] gets the client an error, a client that
//! does not read its answer within [`WRITE_TIMEOUT`] is dropped, and at
//! most [`MAX_CLIENTS`] are served at once. Only `watch` clients take a
//! receiver of the event broadcast, so the core makes events only for
//! them.

use super::proto::PROTOCOL_VERSION;
use super::proto::{Event, EventKind, Request, RequestLine, Response, ResponseLine};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};

/// One request handed to the core, with where to send the answer.
pub type CtlCall = (Request, oneshot::Sender<Response>);

/// Longest request line accepted, bytes.
pub const MAX_LINE: u64 = 64 * 1024;

/// How long the server waits for the core to answer one request.
pub const CORE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client may take to read one answer (or event).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most clients served at once; more are told so and closed.
pub const MAX_CLIENTS: usize = 64;

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// Creating the socket's directory failed.
    #[error("cannot create control socket directory {}: {source}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another process answers on the socket.
    #[error("control socket {} is in use: is another rbgpd running?", path.display())]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
    /// Binding or setting the permissions failed.
    #[error("cannot bind control socket {}: {source}", path.display())]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Creates the directory, removes a stale socket (one nobody answers on),
/// binds `path` and sets its mode to 0660. Call inside a tokio runtime.
pub fn bind(path: &Path) -> Result<UnixListener, CtlError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| CtlError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    if std::fs::symlink_metadata(path).is_ok() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(CtlError::InUse {
                path: path.to_path_buf(),
            });
        }
        std::fs::remove_file(path).map_err(|source| CtlError::Bind {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let bind_err = |source| CtlError::Bind {
        path: path.to_path_buf(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(bind_err)?;
    Ok(listener)
}

/// Binds `path` (see [`bind`]) and serves clients; returns only when
/// binding fails.
/// Requests go to the core over `tx`; each `watch` client gets its own
/// `events.resubscribe()`, and its stream ends when the core drops the
/// broadcast sender.
pub async fn serve(
    path: &Path,
    tx: mpsc::Sender<CtlCall>,
    events: broadcast::Receiver<Event>,
) -> Result<(), CtlError> {
    let listener = bind(path)?;
    serve_listener(listener, tx, events).await
}

/// Serves clients on an already bound listener, one task per client.
/// Runs until the task is dropped: accept errors are logged and retried,
/// so it does not return `Err` today (the `Result` is kept for callers).
pub async fn serve_listener(
    listener: UnixListener,
    tx: mpsc::Sender<CtlCall>,
    events: broadcast::Receiver<Event>,
) -> Result<(), CtlError> {
    let events = std::sync::Arc::new(events);
    let clients = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    loop {
        let mut stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait and go on.
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = clients.clone().try_acquire_owned() else {
            let busy = error(format!("too many control clients (at most {MAX_CLIENTS})"));
            tokio::spawn(async move {
                let _ = write_response(&mut stream, busy).await;
            });
            continue;
        };
        let tx = tx.clone();
        let events = events.clone();
        tokio::spawn(async move {
            if let Err(e) = handle_client(stream, tx, &events).await {
                tracing::debug!(error = %e, "control client closed");
            }
            drop(permit);
        });
    }
}

async fn write_response(w: &mut (impl AsyncWriteExt + Unpin), r: Response) -> io::Result<()> {
    let line = ResponseLine {
        v: PROTOCOL_VERSION,
        response: r,
    };
    let mut text = serde_json::to_string(&line).map_err(io::Error::other)?;
    text.push('\n');
    let write = async {
        w.write_all(text.as_bytes()).await?;
        w.flush().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client does not read"))?
}

fn error(message: impl Into<String>) -> Response {
    Response::Error {
        message: message.into(),
    }
}

async fn handle_client(
    stream: UnixStream,
    tx: mpsc::Sender<CtlCall>,
    events: &broadcast::Receiver<Event>,
) -> io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r);
    loop {
        let mut buf = Vec::new();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if buf.last() != Some(&b'\n') && n as u64 >= MAX_LINE {
            return write_response(
                &mut w,
                error(format!("request longer than {MAX_LINE} bytes")),
            )
            .await;
        }
        let text = String::from_utf8_lossy(&buf);
        if text.trim().is_empty() {
            continue;
        }
        let req = match serde_json::from_str::<RequestLine>(&text) {
            Ok(l) if l.v != PROTOCOL_VERSION => {
                let msg = format!(
                    "protocol version {} not supported, this rbgpd speaks {PROTOCOL_VERSION}",
                    l.v
                );
                write_response(&mut w, error(msg)).await?;
                continue;
            }
            Ok(l) => l.request,
            Err(e) => {
                write_response(&mut w, error(format!("bad request: {e}"))).await?;
                continue;
            }
        };
        if req == Request::Watch {
            return watch(&mut reader, &mut w, events.resubscribe()).await;
        }
        let resp = ask_core(&tx, req).await;
        write_response(&mut w, resp).await?;
    }
}

async fn ask_core(tx: &mpsc::Sender<CtlCall>, req: Request) -> Response {
    let (otx, orx) = oneshot::channel();
    if tx.send((req, otx)).await.is_err() {
        return error("rbgpd is shutting down");
    }
    match tokio::time::timeout(CORE_TIMEOUT, orx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => error("rbgpd dropped the request"),
        Err(_) => error(format!(
            "rbgpd did not answer within {} s",
            CORE_TIMEOUT.as_secs()
        )),
    }
}

async fn watch(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    w: &mut tokio::net::unix::OwnedWriteHalf,
    mut rx: broadcast::Receiver<Event>,
) -> io::Result<()> {
    let mut scratch = [0u8; 256];
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(event) => write_response(w, Response::Event { event }).await?,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let event = Event::now(EventKind::Lagged { missed });
                    write_response(w, Response::Event { event }).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            // Anything the client sends while watching is ignored; EOF ends it.
            n = reader.read(&mut scratch) => if n? == 0 { return Ok(()) },
        }
    }
}
