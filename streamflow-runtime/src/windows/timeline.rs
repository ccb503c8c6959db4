//! The time arithmetic of windows and the time-ordered buffer of batches (or
//! of per-batch results) every window keeps.

use super::WindowSpec;
use crate::Time;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

impl WindowSpec {
    /// The slide, never zero (a zero slide cannot compile; no division by it here).
    fn slide(&self) -> u64 {
        self.slide_ms.max(1)
    }

    /// Whether a window is emitted at `t` (ms).
    pub(crate) fn emits_at(&self, t: u64) -> bool {
        t.is_multiple_of(self.slide())
    }

    /// The first emit time at or after `t` (ms).
    pub(crate) fn upcoming(&self, t: u64) -> u64 {
        t.div_ceil(self.slide()).saturating_mul(self.slide())
    }

    /// The exclusive start of the window ending at `t`: it covers `(t − W, t]`.
    pub(crate) fn start(&self, t: u64) -> u64 {
        t.saturating_sub(self.window_ms)
    }
}

/// Batches (or per-batch results) by time, oldest first.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Timeline<B> {
    batches: VecDeque<(Time, B)>,
}

impl<B> Default for Timeline<B> {
    fn default() -> Self {
        Timeline {
            batches: VecDeque::new(),
        }
    }
}

impl<B> Timeline<B> {
    /// How many batches are held.
    pub(crate) fn len(&self) -> usize {
        self.batches.len()
    }

    /// Adds the newest batch.
    pub(crate) fn push(&mut self, time: Time, batch: B) {
        self.batches.push_back((time, batch));
    }

    /// Drops the batches with times up to `through` (ms).
    pub(crate) fn drop_through(&mut self, through: u64) {
        while self.batches.front().is_some_and(|(t, _)| t.as_millis() <= through) {
            self.batches.pop_front();
        }
    }

    /// Takes out the batches with times up to `through` (ms), oldest first.
    pub(crate) fn take_through(&mut self, through: u64) -> Vec<(Time, B)> {
        let count = self
            .batches
            .iter()
            .take_while(|(t, _)| t.as_millis() <= through)
            .count();
        self.batches.drain(..count).collect()
    }

    /// The batches with times after `after` (ms), oldest first.
    pub(crate) fn after(&self, after: u64) -> impl Iterator<Item = &B> {
        self.batches
            .iter()
            .filter(move |(t, _)| t.as_millis() > after)
            .map(|(_, b)| b)
    }

    /// Admits the batch of time `now` to the buffer of a window that combines
    /// the covered batches anew at every emit time: batches no window will
    /// cover are not kept (`s > W`), and leftovers of a window that was not
    /// emitted (its input skipped that time) are dropped.
    pub(crate) fn admit(&mut self, spec: &WindowSpec, now: Time, batch: B) {
        let first_needed_after = spec.start(spec.upcoming(now.as_millis()));
        self.drop_through(first_needed_after);
        if now.as_millis() > first_needed_after {
            self.push(now, batch);
        }
    }

    /// Admits the batch of time `now` and, if a window is emitted at `now`,
    /// gives its covered batches (see [`covered`](Self::covered)).
    pub(crate) fn window_at(&mut self, spec: &WindowSpec, now: Time, batch: B) -> Option<Covered<'_, B>> {
        self.admit(spec, now, batch);
        spec.emits_at(now.as_millis()).then(|| self.covered(spec, now))
    }

    /// At emit time `now`, after [`admit`](Self::admit): the covered batches,
    /// oldest first, split into those no later window needs (moved out of the
    /// buffer) and those that stay for the next window (borrowed).
    pub(crate) fn covered(&mut self, spec: &WindowSpec, now: Time) -> Covered<'_, B> {
        let next = now.as_millis().saturating_add(spec.slide());
        let leaving = self
            .take_through(spec.start(next))
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        Covered {
            leaving,
            staying: self.batches.iter().map(|(_, b)| b).collect(),
        }
    }
}

/// The batches of one window, oldest first: the leaving ones (owned) are all
/// older than the staying ones (borrowed).
pub(crate) struct Covered<'a, B> {
    pub(crate) leaving: Vec<B>,
    pub(crate) staying: Vec<&'a B>,
}

/// An element or partition that is either moved out (no later window needs
/// it) or shared with later windows (cloned when used).
pub(crate) enum Held<'a, X> {
    Owned(X),
    Shared(&'a X),
}

impl<X> Held<'_, X> {
    /// The element or partition, wherever it is.
    pub(crate) fn get(&self) -> &X {
        match self {
            Held::Owned(x) => x,
            Held::Shared(x) => x,
        }
    }
}

impl<X: Clone> Held<'_, X> {
    /// The element or partition, cloned if it is shared.
    pub(crate) fn into_owned(self) -> X {
        match self {
            Held::Owned(x) => x,
            Held::Shared(x) => x.clone(),
        }
    }
}

impl<'a, X> Covered<'a, Vec<X>> {
    /// The covered batches' partitions, one list per partition index (all
    /// batches of a keyed window have the same `n` partitions), oldest first.
    pub(crate) fn by_partition(self, n: usize) -> Vec<Vec<Held<'a, X>>> {
        let batches = self.leaving.len() + self.staying.len();
        let mut out: Vec<Vec<Held<'a, X>>> = (0..n).map(|_| Vec::with_capacity(batches)).collect();
        for batch in self.leaving {
            for (slot, part) in out.iter_mut().zip(batch) {
                slot.push(Held::Owned(part));
            }
        }
        for batch in self.staying {
            for (slot, part) in out.iter_mut().zip(batch) {
                slot.push(Held::Shared(part));
            }
        }
        out
    }

    /// Every covered partition, oldest batch first.
    pub(crate) fn partitions(self) -> Vec<Held<'a, X>> {
        let mut out = Vec::new();
        for batch in self.leaving {
            out.extend(batch.into_iter().map(Held::Owned));
        }
        for batch in self.staying {
            out.extend(batch.iter().map(Held::Shared));
        }
        out
    }
}

impl<B: Default> Timeline<B> {
    /// One timeline made of the same times in every part (each process's
    /// saved window on a cluster): each time's batch is `merge` of every
    /// part's batch at that time (empty where a part lacks it), by part.
    pub(crate) fn merge(parts: Vec<Timeline<B>>, mut merge: impl FnMut(Vec<B>) -> B) -> Timeline<B> {
        let mut parts: Vec<std::collections::BTreeMap<u64, (Time, B)>> = parts
            .into_iter()
            .map(|part| part.batches.into_iter().map(|(t, b)| (t.as_millis(), (t, b))).collect())
            .collect();
        let times: std::collections::BTreeSet<u64> = parts.iter().flat_map(|part| part.keys().copied()).collect();
        let batches = times
            .into_iter()
            .map(|t| {
                let each = parts
                    .iter_mut()
                    .map(|part| part.remove(&t).map(|(_, b)| b).unwrap_or_default())
                    .collect();
                (Time::from_millis(t), merge(each))
            })
            .collect();
        Timeline { batches }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: WindowSpec = WindowSpec {
        window_ms: 3000,
        slide_ms: 2000,
    };

    #[test]
    fn emit_times_and_bounds() {
        assert!(SPEC.emits_at(2000) && SPEC.emits_at(4000) && !SPEC.emits_at(3000));
        assert_eq!(SPEC.upcoming(3000), 4000);
        assert_eq!(SPEC.upcoming(4000), 4000);
        assert_eq!(SPEC.start(2000), 0);
        assert_eq!(SPEC.start(4000), 1000);
    }

    #[test]
    fn admit_keeps_only_what_a_window_will_cover() {
        let gap = WindowSpec {
            window_ms: 1000,
            slide_ms: 3000,
        };
        let mut t = Timeline::default();
        for s in 1..=3 {
            t.admit(&gap, Time::from_secs(s), s);
        }
        // Batches 1 and 2 fall between windows.
        assert_eq!(t.after(0).copied().collect::<Vec<_>>(), vec![3]);
    }
}
