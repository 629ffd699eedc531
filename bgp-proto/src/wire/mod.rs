//! DOC: the wire codec: framing, decoding and encoding of every message.
//!
//! Receiving is two steps. [`split_frame`] checks the 19-octet header as
//! soon as it is buffered and splits one whole message off the receive
//! buffer without copy; [`decode_message`] then decodes that frame. OPEN,
//! NOTIFICATION and ROUTE-REFRESH decode into small owned values; an
//! UPDATE stays in the frame's [`Bytes`] and is validated once by
//! [`update::Update::decode`]. Any error is a [`DecodeError`],
//! which names the NOTIFICATION to send.
//!
//! Sending: [`encode_message`] writes header and body into a `BytesMut`,
//! fills in the Length and refuses a message longer than the session
//! allows (4096 octets for OPEN and KEEPALIVE in any case, RFC 8654 4).
//!
//! Module map: [`header`] (header checks, framing), [`open`] and
//! [`capability`] (OPEN and its optional parameters), [`notification`],
//! [`route_refresh`], [`update`] (UPDATE, attributes and NLRI). The
//! parsers are nom combinators over `&[u8]` (`parse.rs`, private); nom's
//! errors never leave the crate.

pub mod capability;
pub mod header;
pub mod notification;
pub mod open;
pub(crate) mod parse;
pub mod route_refresh;
pub mod update;

pub use header::{check_header, split_frame, Header, HEADER_LEN, MARKER};

use crate::error::{DecodeError, EncodeError};
use crate::msg::message_type as mt;
use crate::msg::{Message, Notification, OpenMessage, RouteRefresh, SessionContext};
use bytes::{Bytes, BytesMut};

/// A decoded message. UPDATE is the zero-copy [`update::Update`], which
/// borrows the frame it came from.
#[derive(Debug, Clone)]
pub enum Decoded {
    /// OPEN.
    Open(OpenMessage),
    /// UPDATE.
    Update(update::Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

impl Decoded {
    /// The message type code.
    pub fn msg_type(&self) -> u8 {
        match self {
            Decoded::Open(_) => mt::OPEN,
            Decoded::Update(_) => mt::UPDATE,
            Decoded::Notification(_) => mt::NOTIFICATION,
            Decoded::Keepalive => mt::KEEPALIVE,
            Decoded::RouteRefresh(_) => mt::ROUTE_REFRESH,
        }
    }
}

/// Decodes one whole message, header included (a frame from
/// [`split_frame`]; the header is checked again, so any bytes will do).
/// A frame whose length differs from its Length field is a Bad Message
/// Length.
pub fn decode_message(frame: Bytes, ctx: &SessionContext) -> Result<Decoded, DecodeError> {
    let short = || DecodeError::BadMessageLength {
        offset: 16,
        len: u16::try_from(frame.len()).unwrap_or(u16::MAX),
    };
    let header = check_header(&frame, ctx)?.ok_or_else(short)?;
    if usize::from(header.length) != frame.len() {
        return Err(DecodeError::BadMessageLength {
            offset: 16,
            len: header.length,
        });
    }
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    match header.msg_type {
        mt::OPEN => open::decode_open(body).map(Decoded::Open),
        mt::UPDATE => Ok(Decoded::Update(update::Update::decode(
            frame.slice(HEADER_LEN..),
            ctx,
        )?)),
        mt::NOTIFICATION => notification::decode_notification(body)
            .map(Decoded::Notification)
            .ok_or_else(short),
        mt::KEEPALIVE => Ok(Decoded::Keepalive),
        mt::ROUTE_REFRESH => route_refresh::decode_route_refresh(&frame).map(Decoded::RouteRefresh),
        msg_type => Err(DecodeError::BadMessageType {
            offset: 18,
            msg_type,
        }),
    }
}

/// Appends `msg` (header and body) to `out`. On error nothing is appended.
/// The limit is `ctx.max_message_len()`, but 4096 for OPEN and KEEPALIVE
/// (RFC 8654 4).
pub fn encode_message(
    msg: &Message,
    ctx: &SessionContext,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let msg_type = match msg {
        Message::Open(_) => mt::OPEN,
        Message::Update(_) => mt::UPDATE,
        Message::Notification(_) => mt::NOTIFICATION,
        Message::Keepalive => mt::KEEPALIVE,
        Message::RouteRefresh(_) => mt::ROUTE_REFRESH,
    };
    let start = header::start_message(out, msg_type);
    let body = match msg {
        Message::Open(o) => open::encode_open(o, out),
        Message::Update(u) => update::encode_body(u, ctx, out),
        Message::Notification(n) => {
            notification::encode_notification(n, out);
            Ok(())
        }
        Message::Keepalive => Ok(()),
        Message::RouteRefresh(rr) => {
            route_refresh::encode_route_refresh(rr, out);
            Ok(())
        }
    };
    if let Err(e) = body {
        out.truncate(start);
        return Err(e);
    }
    header::finish_message(out, start, header::max_len(msg_type, ctx))
}

/// Encodes `msg` into a fresh buffer (convenience over [`encode_message`]).
pub fn encode_to_bytes(msg: &Message, ctx: &SessionContext) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    encode_message(msg, ctx, &mut out)?;
    Ok(out.freeze())
}
