//! Why a delivery is refused, and the HTTP status the ingest route answers with.
//!
//! The ingest routes are thin wrappers: they call [`crate::Platform::accept`] and turn a
//! [`Rejection`] into [`Rejection::http_status`] and its message. Nothing in a rejection echoes
//! a secret or a signature.

/// Why a webhook signature (or, for TeamUp, the installation secret) was refused: always 401.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No secret is configured for this platform: nothing is accepted rather than everything.
    #[error("no webhook secret is configured for this platform")]
    NotConfigured,
    /// The header or field carrying the signature is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The header or field is present but cannot be read.
    #[error("unreadable {0}")]
    Unreadable(&'static str),
    /// The timestamp is more than [`crate::signature::WINDOW_SECS`] away from now: a replay or a
    /// badly wrong clock.
    #[error("timestamp is {skew_secs} s away from now (more than 300 s): replayed or stale")]
    OutsideWindow {
        /// How far the signed timestamp is from `now`, in seconds (positive: in the past).
        skew_secs: i64,
    },
    /// The signature does not match.
    #[error("signature does not match")]
    Mismatch,
}

/// Why a delivery is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The body is over [`crate::MAX_BODY_BYTES`]: 413.
    #[error("body of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Bad, missing or replayed signature: 401.
    #[error("unauthorized: {0}")]
    Unauthorized(#[from] SignatureError),
    /// The payload cannot be understood: 400. `field` names where (a dotted path into the
    /// payload, or the form field).
    #[error("{field}: {reason}")]
    Malformed {
        /// The field, e.g. `data.object.start.dateTime`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Rejection {
    /// A malformed-payload rejection naming `field`.
    pub fn malformed(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
        Rejection::Malformed {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The HTTP status the ingest route answers with: 413, 401 or 400.
    pub fn http_status(&self) -> u16 {
        match self {
            Rejection::TooLarge { .. } => 413,
            Rejection::Unauthorized(_) => 401,
            Rejection::Malformed { .. } => 400,
        }
    }
}

/// The outcome of a check: `Ok(())` or why not.
pub type Verdict = Result<(), Rejection>;
