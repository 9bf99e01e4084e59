//! The client's error type. Every Kisi failure becomes one of these variants, so callers decide
//! deliberately (retry later, alert an operator, treat as "already gone") instead of matching on
//! HTTP codes.

use std::collections::BTreeMap;

/// What went wrong talking to Kisi.
#[derive(Debug, thiserror::Error)]
pub enum KisiError {
    /// 401: the API key is wrong, revoked, or sent to the wrong host.
    #[error(
        "Kisi rejected the API key (HTTP 401): set KISI_API_KEY to a current key from Kisi \
         (My Account → API → Add API key, as an organisation owner or admin) and check that \
         KISI_BASE_URL points at Kisi"
    )]
    Unauthorized,
    /// 403: the key is valid but its user may not do this.
    #[error("Kisi refused the request (HTTP 403): the API key's user lacks the rights for {what}")]
    Forbidden {
        /// The operation.
        what: String,
    },
    /// 404 on a record we asked for by id.
    #[error("not found in Kisi: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// 409, or a state that contradicts what we are about to do.
    #[error("conflict in Kisi: {detail}")]
    Conflict {
        /// Why.
        detail: String,
    },
    /// 429 on every attempt within the retry deadline.
    #[error("Kisi kept answering 429 Too Many Requests after {attempts} attempts")]
    RateLimited {
        /// Requests sent.
        attempts: u32,
    },
    /// 5xx on the last attempt within the retry deadline.
    #[error("Kisi answered HTTP {status} after {attempts} attempts")]
    Server {
        /// Last status.
        status: u16,
        /// Requests sent.
        attempts: u32,
    },
    /// No answer in time on the last attempt within the retry deadline.
    #[error("Kisi did not answer in time after {attempts} attempts")]
    Timeout {
        /// Requests sent.
        attempts: u32,
    },
    /// The connection failed or broke on the last attempt within the retry deadline.
    #[error("cannot reach Kisi after {attempts} attempts: {detail}")]
    Transport {
        /// The transport error, without URL secrets.
        detail: String,
        /// Requests sent.
        attempts: u32,
    },
    /// A listing could not be read completely and consistently (short page, duplicate ids,
    /// totals that disagree). Never to be read as "nobody has access".
    #[error("incomplete read of {what} from Kisi: {reason}")]
    IncompleteRead {
        /// The collection.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// 422: Kisi rejected fields of the request.
    #[error("Kisi rejected the request (HTTP 422): {}", format_errors(errors))]
    Validation {
        /// Field → messages, as Kisi sent them.
        errors: BTreeMap<String, Vec<String>>,
    },
    /// Any other answer the client does not expect.
    #[error("unexpected answer from Kisi to {what}: HTTP {status}: {detail}")]
    Unexpected {
        /// The operation.
        what: String,
        /// The status.
        status: u16,
        /// Kisi's message or a parse error.
        detail: String,
    },
    /// The API key could not be read from its source just now (the secret store is
    /// unavailable); retrying later may work.
    #[error("cannot read the Kisi API key: {0}")]
    KeyUnavailable(String),
    /// The client's own configuration is unusable.
    #[error("Kisi client configuration: {0}")]
    Config(String),
}

impl KisiError {
    /// Whether trying the whole operation again later may succeed (the client already retried
    /// within its deadline).
    pub fn is_transient(&self) -> bool {
        match self {
            KisiError::RateLimited { .. }
            | KisiError::Server { .. }
            | KisiError::Timeout { .. }
            | KisiError::Transport { .. }
            | KisiError::IncompleteRead { .. }
            | KisiError::KeyUnavailable(_) => true,
            KisiError::Unauthorized
            | KisiError::Forbidden { .. }
            | KisiError::NotFound { .. }
            | KisiError::Conflict { .. }
            | KisiError::Validation { .. }
            | KisiError::Unexpected { .. }
            | KisiError::Config(_) => false,
        }
    }
}

fn format_errors(errors: &BTreeMap<String, Vec<String>>) -> String {
    errors
        .iter()
        .map(|(field, msgs)| format!("{field} {}", msgs.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
