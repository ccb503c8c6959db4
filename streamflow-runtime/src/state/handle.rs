//! The state handle a `map_with_state` function gets.

/// One key's state, as a `map_with_state` function sees it: read it, update
/// it, remove it, or leave it as it is.
///
/// The function is called once per record of its key, in arrival order, and
/// each call sees what the previous one left. When the job sets a timeout, a
/// key idle for that long gets one last call with no value, in which
/// [`is_timing_out`](Self::is_timing_out) is true; the key is removed after it
/// (an [`update`](Self::update) in that call is ignored).
///
/// ```
/// use streamflow::State;
///
/// /// A running total per word: outputs the new total, removes the word at 100.
/// fn total(word: &String, n: Option<u64>, state: &mut State<u64>) -> Option<(String, u64)> {
///     if state.is_timing_out() {
///         return None;
///     }
///     let sum = state.get().copied().unwrap_or(0) + n.unwrap_or(0);
///     if sum >= 100 {
///         state.remove();
///     } else {
///         state.update(sum);
///     }
///     Some((word.clone(), sum))
/// }
///
/// let mut state = State::new(None);
/// assert_eq!(total(&"a".to_owned(), Some(2), &mut state), Some(("a".to_owned(), 2)));
/// assert_eq!(total(&"a".to_owned(), Some(3), &mut state), Some(("a".to_owned(), 5)));
/// assert_eq!(state.get(), Some(&5));
/// total(&"a".to_owned(), Some(95), &mut state);
/// assert!(!state.exists());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State<S> {
    value: Option<S>,
    timing_out: bool,
}

impl<S> State<S> {
    /// A handle holding `value` (`None`: the key has no state yet). The
    /// runtime makes these; this is for unit-testing a mapping function.
    pub fn new(value: Option<S>) -> Self {
        State {
            value,
            timing_out: false,
        }
    }

    /// The handle of a key whose timeout fired.
    pub(crate) fn timing_out(value: S) -> Self {
        State {
            value: Some(value),
            timing_out: true,
        }
    }

    /// Whether the key has state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The key's state, if it has one.
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the key's state. Ignored while the key is timing out: it is
    /// removed after this call whatever the function does.
    pub fn update(&mut self, value: S) {
        if !self.timing_out {
            self.value = Some(value);
        }
    }

    /// Removes the key's state.
    pub fn remove(&mut self) {
        self.value = None;
    }

    /// Whether this is the last call of a key that was idle for the job's
    /// timeout (the call has no value).
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }

    /// The state left by the call.
    pub(crate) fn into_value(self) -> Option<S> {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_is_ignored_while_timing_out() {
        let mut s = State::timing_out(3);
        assert!(s.is_timing_out() && s.exists());
        s.update(4);
        assert_eq!(s.get(), Some(&3));
        s.remove();
        assert_eq!(s.into_value(), None);
        let mut fresh = State::new(None);
        assert!(!fresh.exists() && !fresh.is_timing_out());
        fresh.update("x");
        assert_eq!(fresh.get(), Some(&"x"));
    }
}
