//! Placeholder: the Kisi simulator (issue 4).
