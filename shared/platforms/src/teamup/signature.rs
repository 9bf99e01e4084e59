//! TeamUp signs nothing: a delivery presents the per-installation secret, as
//! `Authorization: Bearer <secret>` or as the last URL path segment (`/teamup/<secret>`). The
//! scheme has no timestamp: a replay is harmless because its canonical ids repeat.

use crate::Rejection;
use crate::error::SignatureError;
use crate::signature::{equal, require_secret, unauthorized};
use sha2::{Digest, Sha256};

/// The TeamUp delivery id header (the same on every retry of one delivery).
pub const ID_HEADER: &str = "TEAMUP-WEBHOOK-ID";

/// Verifies a TeamUp delivery: `presented` is the bearer token or the URL's secret segment.
pub fn verify(secret: &str, presented: Option<&str>) -> Result<(), Rejection> {
    require_secret(secret.as_bytes())?;
    let presented = presented.ok_or(unauthorized(SignatureError::Missing(
        "installation secret (Authorization: Bearer or URL path segment)",
    )))?;
    // Hash both sides so the comparison takes the same time whatever the lengths.
    let want = Sha256::digest(secret.as_bytes());
    let given = Sha256::digest(presented.as_bytes());
    if equal(&given, &want) {
        Ok(())
    } else {
        Err(unauthorized(SignatureError::Mismatch))
    }
}
