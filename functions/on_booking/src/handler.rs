//! An SQS batch of canonical events → each recorded once by the engine, one converge request
//! per e-mail published for `on_edge`; failed records reported item by item. The same handler
//! serves `on_booking`, `on_plan_change` and `on_checkin` (see `access_sync_lambda::on_event`).

pub use access_sync_lambda::on_event::handle_batch as handle;
