//! Shared by the integration tests: every job is compiled twice, fused and
//! with `#[fusion(off)]`, and every test runs against both, expecting the same
//! results.
//!
//! ```ignore
//! jobs! {
//!     // Items the closures use are copied into both modules, so that the fused
//!     // and unfused tests (which run in parallel) have their own statics.
//!     static CALLS: AtomicUsize = AtomicUsize::new(0);
//!
//!     pub job Doubler {
//!         batch_interval = 1s;
//!         input xs: i32;
//!         output doubled: i32 = xs.map(|x| x * 2);
//!     }
//! }
//!
//! both! {
//!     fn doubles() {
//!         // `m` is `fused` in one copy of the test and `unfused` in the other.
//!         let mut run = TestRun::new(m::Doubler::new());
//!         let out = run.run_batch(m::Doubler::inputs().xs([1, 2])).unwrap();
//!         assert_eq!(out.doubled.to_vec(), vec![2, 4]);
//!     }
//! }
//! ```

#![allow(dead_code, unused_macros)]

use streamflow::testing::{TestRun, Timed};
use streamflow::{Batch, Job};

/// Expands items and `pub job` definitions into `mod fused` (as written) and
/// `mod unfused` (each job with `#[fusion(off)]`). Both modules `use super::*`.
macro_rules! jobs {
    // Sorting: items and jobs are accumulated separately.
    (@sort [$($items:tt)*] [$($jobs:tt)*]) => {
        pub mod fused {
            #![allow(unused_imports)]
            use super::*;
            $($items)*
            $(jobs!(@job [] $jobs);)*
        }
        pub mod unfused {
            #![allow(unused_imports)]
            use super::*;
            $($items)*
            $(jobs!(@job [#[fusion(off)]] $jobs);)*
        }
    };
    (@sort [$($items:tt)*] [$($jobs:tt)*]
        $(#[$attr:meta])* pub job $name:ident ($($param:tt)*) {$($body:tt)*} $($rest:tt)*) => {
        jobs!(@sort [$($items)*] [$($jobs)* { [$(#[$attr])*] $name [($($param)*)] {$($body)*} }] $($rest)*);
    };
    (@sort [$($items:tt)*] [$($jobs:tt)*]
        $(#[$attr:meta])* pub job $name:ident {$($body:tt)*} $($rest:tt)*) => {
        jobs!(@sort [$($items)*] [$($jobs)* { [$(#[$attr])*] $name [] {$($body)*} }] $($rest)*);
    };
    (@sort [$($items:tt)*] [$($jobs:tt)*] $item:item $($rest:tt)*) => {
        jobs!(@sort [$($items)* $item] [$($jobs)*] $($rest)*);
    };
    (@job [$($fusion:tt)*] { [$($attr:tt)*] $name:ident [$($params:tt)*] $body:tt }) => {
        ::streamflow::stream_job! { $($fusion)* $($attr)* pub job $name $($params)* $body }
    };
    ($($all:tt)*) => {
        jobs!(@sort [] [] $($all)*);
    };
}

/// Instantiates every test twice: in `fused_tests` with `m` = `fused`, and in
/// `unfused_tests` with `m` = `unfused`.
macro_rules! both {
    ($($(#[$attr:meta])* fn $name:ident() $body:block)*) => {
        mod fused_tests {
            #![allow(unused_imports)]
            use super::*;
            use super::fused as m;
            $(#[test] $(#[$attr])* fn $name() $body)*
        }
        mod unfused_tests {
            #![allow(unused_imports)]
            use super::*;
            use super::unfused as m;
            $(#[test] $(#[$attr])* fn $name() $body)*
        }
    };
}

/// Runs `job` on one batch per element of `inputs` (times 1000, 2000, ... ms)
/// and returns each batch's outputs; panics on a failed batch.
pub fn run<J: Job>(job: J, inputs: impl IntoIterator<Item = J::Inputs>) -> Vec<Timed<J::Outputs>> {
    let mut run = TestRun::new(job);
    match run.run(inputs) {
        Ok(outputs) => outputs,
        Err(e) => panic!("{e}"),
    }
}

/// Runs one batch of `job` and returns its outputs.
pub fn run_one<J: Job>(job: J, inputs: J::Inputs) -> J::Outputs {
    run(job, [inputs]).pop().expect("one batch").into_outputs()
}

/// A batch's partitions, cloned, to compare partition by partition.
pub fn parts<T: Clone>(batch: &Batch<T>) -> Vec<Vec<T>> {
    batch.partitions().to_vec()
}

/// Owned strings from string literals.
pub fn strings<const N: usize>(items: [&str; N]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// One batch as `print` writes it (Spark's format).
pub fn print_block(time_ms: u64, lines: &[&str]) -> String {
    let rule = "-------------------------------------------";
    let mut text = format!("{rule}\nTime: {time_ms} ms\n{rule}\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text.push('\n');
    text
}
