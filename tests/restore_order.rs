//! A job restored from a snapshot gives, batch after batch, the very same
//! output as the job that was never interrupted: the same elements in the same
//! partitions in the same order (what makes a recovered batch's files
//! byte-identical), not merely the same multiset.
//!
//! The keyed state tables (update_state_by_key, map_with_state, the
//! incremental windows) are fed thousands of keys, with keys removed every
//! batch, so that they grow and lose entries before the snapshot is taken.

#[macro_use]
mod common;

use streamflow::prelude::*;
use streamflow::{JobConfig, StateSnapshot};

jobs! {
    /// A running total that a key loses when it lands on a multiple of 11, or
    /// on a multiple of 3 in a batch without values for it.
    fn total(new: &[i64], old: Option<i64>) -> Option<i64> {
        let sum = old.unwrap_or(0) + new.iter().sum::<i64>();
        let dropped = sum % 11 == 0 || (new.is_empty() && sum % 3 == 0);
        (!dropped).then_some(sum)
    }

    /// Records per key; a key whose record is negative is removed, a key idle
    /// for 2 s times out.
    fn seen(key: &u32, value: Option<i64>, state: &mut State<u64>) -> Option<(u32, u64)> {
        let count = state.get().copied().unwrap_or(0) + 1;
        match value {
            Some(v) if v < 0 => state.remove(),
            Some(_) => state.update(count),
            None => {}
        }
        Some((*key, count))
    }

    pub job Keyed {
        batch_interval = 1s;
        input pairs: (u32, i64);
        output totals: (u32, i64) = pairs.update_state_by_key(total);
        let mapped = pairs.map_with_state(seen, 2s);
        output mapped: (u32, u64) = mapped;
        output snapshots: (u32, u64) = mapped.state_snapshots();
        output recent: (u32, i64) = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 3s, 1s);
        output nonzero: (u32, i64) =
            pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 4s, 2s, 3, |kv: &(u32, i64)| kv.1 != 0);
        output values: (u32, u64) = pairs.map(|(k, _)| k % 3000).count_by_value_and_window(3s, 1s);
        output plain: (u32, i64) = pairs.reduce_by_key_and_window(|a, b| a + b, 3s, 1s);
        output groups: (u32, Vec<i64>) = pairs.group_by_key_and_window(2s, 1s);
        output last2: (u32, i64) = pairs.window(2s);
        output count: u64 = pairs.count_by_window(3s, 1s);
        output sum_inv: i64 = pairs.map(|(_, v)| v).reduce_by_window(|a, b| a + b, |a, b| a - b, 3s, 1s);
        output sum: i64 = pairs.map(|(_, v)| v).reduce_by_window(|a, b| a + b, 3s, 1s);
    }
}

/// Batches fed to the job.
const BATCHES: u64 = 18;

/// Batch `t`: 5000 records over keys that drift with `t`, values in `-1..=5`.
fn batch(t: u64) -> Vec<(u32, i64)> {
    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = (x % 12_000) as u32 + (t as u32 % 7) * 1500;
            let value = ((x >> 40) % 7) as i64 - 1;
            (key, value)
        })
        .collect()
}

/// Every output of the batch at `t`, partition by partition, in order.
macro_rules! run {
    ($job:expr, $t:expr, $m:ident) => {{
        let t: u64 = $t;
        let out = $job
            .run_batch(Time::from_secs(t), $m::Keyed::inputs().pairs(batch(t)))
            .unwrap();
        vec![
            format!("t={t} totals {:?}", out.totals.partitions()),
            format!("t={t} mapped {:?}", out.mapped.partitions()),
            format!("t={t} snapshots {:?}", out.snapshots.partitions()),
            format!("t={t} recent {:?}", out.recent.partitions()),
            format!("t={t} nonzero {:?}", out.nonzero.as_ref().map(|b| b.partitions())),
            format!("t={t} values {:?}", out.values.partitions()),
            format!("t={t} plain {:?}", out.plain.partitions()),
            format!("t={t} groups {:?}", out.groups.partitions()),
            format!("t={t} last2 {:?}", out.last2.partitions()),
            format!("t={t} count {:?}", out.count.partitions()),
            format!("t={t} sum_inv {:?}", out.sum_inv.partitions()),
            format!("t={t} sum {:?}", out.sum.partitions()),
        ]
    }};
}

both! {
    fn a_restored_job_gives_every_later_batch_in_the_same_order_as_the_uninterrupted_job() {
        let config = || JobConfig::new().partitions(3);
        let mut uninterrupted = m::Keyed::with_config(config()).unwrap();
        let expected: Vec<Vec<String>> = (1..=BATCHES).map(|t| run!(uninterrupted, t, m)).collect();
        // The tables are large and lose keys: the test is not vacuous.
        let totals = expected[7][0].matches("), (").count();
        assert!(totals > 5000, "{totals} keys in update_state_by_key's state");

        for k in [5, 12] {
            let mut original = m::Keyed::with_config(config()).unwrap();
            for t in 1..=k {
                run!(original, t, m);
            }
            let bytes = original.state().snapshot().unwrap().to_bytes();
            let mut restored = m::Keyed::with_config(config()).unwrap();
            restored
                .state_mut()
                .restore(&StateSnapshot::from_bytes(&bytes).unwrap())
                .unwrap();
            let mut differing = Vec::new();
            for t in k + 1..=BATCHES {
                let got = run!(restored, t, m);
                for (got, want) in got.iter().zip(&expected[t as usize - 1]) {
                    if got != want {
                        differing.push(first_difference(got, want));
                    }
                }
            }
            assert!(differing.is_empty(), "snapshot after batch {k}: {} outputs differ:\n{}", differing.len(), differing.join("\n"));
        }
    }
}

/// Where two renderings of an output part ways, with some context.
fn first_difference(got: &str, want: &str) -> String {
    let at = got.bytes().zip(want.bytes()).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(60);
    let window = |s: &str| s.get(from..(at + 60).min(s.len())).unwrap_or("").to_owned();
    let name = got.split(" [").next().unwrap_or("");
    format!("{name}: at byte {at}: got …{}…, want …{}…", window(got), window(want))
}
