//! Blocking control socket client, used by rbgpctl (no async runtime).

use super::proto::{Request, RequestLine, Response, ResponseLine, PROTOCOL_VERSION};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Why talking to rbgpd failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be opened.
    #[error("cannot connect to rbgpd at {}: {} ({})", path.display(), os_text(source), hint(source))]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Reading or writing failed.
    #[error("control socket error: {}", os_text(.0))]
    Io(#[from] io::Error),
    /// rbgpd sent something that is not a response line.
    #[error("bad response from rbgpd: {0}")]
    Decode(#[from] serde_json::Error),
    /// rbgpd closed the connection before answering.
    #[error("rbgpd closed the connection")]
    Closed,
}

/// The io error text without " (os error N)".
fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}

fn hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "run as root or as a member of the socket's group",
        _ => "is rbgpd running?",
    }
}

/// A connection to rbgpd's control socket.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one request line.
    pub fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        let line = RequestLine {
            v: PROTOCOL_VERSION,
            request: request.clone(),
        };
        let mut text = serde_json::to_string(&line)?;
        text.push('\n');
        self.writer.write_all(text.as_bytes())?;
        self.writer.flush()?;
        Ok(())
    }

    /// Reads the next response line; `Ok(None)` at end of stream.
    pub fn next_response(&mut self) -> Result<Option<Response>, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let r: ResponseLine = serde_json::from_str(&line)?;
        Ok(Some(r.response))
    }

    /// Sends a request and reads its answer.
    pub fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        self.send(request)?;
        self.next_response()?.ok_or(ClientError::Closed)
    }
}
