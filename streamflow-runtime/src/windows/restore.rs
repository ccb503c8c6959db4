//! What a window restored from a checkpoint must share with the window the
//! job now computes.
//!
//! A window's state holds the batches (or per-batch results) of its own
//! length, aligned to its own slide, and a keyed window holds them in its
//! key partitions. Restored into a window of another shape it would emit
//! windows of neither shape, so a changed length or slide is refused at
//! restore, with both shapes, rather than kept silently.

use super::WindowSpec;

/// Whether a keyed window saved as `saved` (its shape and key partition
/// count) may be restored into `now`: the same shape in the same count.
pub(crate) fn same_keyed_window(
    now: (&WindowSpec, Option<usize>),
    saved: (&WindowSpec, Option<usize>),
) -> Result<(), String> {
    same_window(now.0, saved.0)?;
    crate::state::partitions::fits(now.1, saved.1)
}

/// Whether a window saved as `saved` may be restored into one of shape `now`;
/// the reason, as [`StateError::DoesNotFit`](crate::StateError) says it, if not.
pub(crate) fn same_window(now: &WindowSpec, saved: &WindowSpec) -> Result<(), String> {
    if now == saved {
        return Ok(());
    }
    Err(format!(
        "it was saved as a window of {} ms sliding every {} ms and the job now computes a window of {} ms \
         sliding every {} ms; a window's state holds the batches of its own length and slide: set them \
         back, or start from a new checkpoint directory",
        saved.window_ms, saved.slide_ms, now.window_ms, now.slide_ms
    ))
}
