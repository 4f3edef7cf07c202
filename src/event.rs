//! What happens in a flow, as the page's `onEvent` is told: the events, the
//! reasons a message is ignored, and the callback type. Below the options (which
//! hold the callback) and the protocol (which gives the reasons).

use crate::error::Code;

/// Why a message was ignored. Never carries any of the message's content.
///
/// ```
/// use zivacare_connect::{Event, Reason};
/// let event = Event::MessageRejected { reason: Reason::Origin };
/// assert_eq!((event.name(), Reason::Origin.as_str()), ("message_rejected", "origin"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Not from the Connect page's origin.
    Origin,
    /// Not from the popup this flow opened.
    Source,
    /// Not a plain object of the protocol's shape.
    Shape,
    /// Without this flow's state.
    State,
    /// Of an unknown type.
    Type,
    /// A finish whose specialToken is not well-formed.
    Token,
}

impl Reason {
    /// The reason as `onEvent` reports it, e.g. `"origin"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Origin => "origin",
            Reason::Source => "source",
            Reason::Shape => "shape",
            Reason::State => "state",
            Reason::Type => "type",
            Reason::Token => "token",
        }
    }
}

/// A reason is written as its string, as `onEvent` reports it.
impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What happens in a flow, for `onEvent(name, details)` and
/// [`ConnectOptions::on_event`](crate::ConnectOptions::on_event). Never carries a token.
///
/// ```
/// use zivacare_connect::{Code, Event};
/// assert_eq!(Event::ServerRequest { attempt: 2 }.name(), "server_request");
/// assert_eq!(Event::Error { code: Code::Timeout }.name(), "error");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The Connect popup opened.
    PopupOpened,
    /// This tab is going to the Connect page (`uxMode` `redirect`, or `auto`
    /// where no popup could open); it comes back to `returnUrl`.
    Redirecting,
    /// A message was ignored (see [`Reason`]); the flow goes on.
    MessageRejected {
        /// Why.
        reason: Reason,
    },
    /// A valid finish arrived; the popup closed.
    TokenReceived,
    /// The forward to `server_url` was sent (1 for the first try).
    ServerRequest {
        /// Which try.
        attempt: u32,
    },
    /// The flow finished with a response.
    Finished,
    /// The popup was closed before finishing.
    Closed,
    /// The flow failed.
    Error {
        /// With this code.
        code: Code,
    },
}

/// An event's details, as `onEvent` receives them: `{reason}`, `{attempt}`,
/// `{code}`, or nothing. A map, not a derived struct (see `ConnectResponse`).
impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = match self {
            Event::MessageRejected { .. } | Event::ServerRequest { .. } | Event::Error { .. } => {
                s.serialize_map(Some(1))?
            }
            _ => return s.serialize_unit(),
        };
        match self {
            Event::MessageRejected { reason } => m.serialize_entry("reason", reason.as_str())?,
            Event::ServerRequest { attempt } => m.serialize_entry("attempt", attempt)?,
            Event::Error { code } => m.serialize_entry("code", code.as_str())?,
            _ => {}
        }
        m.end()
    }
}

impl Event {
    /// The name `onEvent` receives, e.g. `"message_rejected"`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::PopupOpened => "popup_opened",
            Event::Redirecting => "redirecting",
            Event::MessageRejected { .. } => "message_rejected",
            Event::TokenReceived => "token_received",
            Event::ServerRequest { .. } => "server_request",
            Event::Finished => "finished",
            Event::Closed => "closed",
            Event::Error { .. } => "error",
        }
    }
}

/// Receives every event of a flow.
pub type OnEvent = std::rc::Rc<dyn Fn(&Event)>;
