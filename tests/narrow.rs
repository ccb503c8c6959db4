//! Narrow and whole-batch operators, fused and unfused: map, flat_map, filter,
//! filter_map, inspect, map_values, flat_map_values, union, glom,
//! map_partitions, transform (with a static dataset, with the batch time), transform_with,
//! repartition. Order-preserving operators are compared as exact vectors.

#[macro_use]
mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use streamflow::{Batch, JobConfig};

jobs! {
    /// What `inspect` saw, in any order (partitions run in parallel).
    pub static INSPECTED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

    pub job Elementwise {
        batch_interval = 1s;
        input xs: i32;
        input words: String;
        input pairs: (String, i32);
        output mapped: i32 = xs.map(|x| x * 10);
        output repeated: i32 = xs.flat_map(|x| vec![x; x as usize]);
        output evens: i32 = xs.filter(|x| x % 2 == 0);
        output halves: i32 = xs.filter_map(|x| (x % 2 == 0).then_some(x / 2));
        // Its own input: other tests run this job at the same time.
        input probes: i32;
        output inspected: i32 = probes.inspect(|x| INSPECTED.lock().unwrap().push(*x));
        output shifted: (String, i32) = pairs.map_values(|v| v + 100);
        output letters: (String, char) = words
            .map(|w| (w.to_uppercase(), w))
            .flat_map_values(|w| w.chars().collect::<Vec<_>>());
        // Every narrow operator in one chain: fused into one loop when fusion is on.
        output chained: String = xs
            .filter(|x| *x > 1)
            .map(|x| x * x)
            .flat_map(|x| [x, -x])
            .filter_map(|x| (x > 0).then(|| format!("+{x}")))
            .inspect(|s| assert!(s.starts_with('+')));
    }


    pub job WholeBatch {
        batch_interval = 1s;
        input xs: i32;
        input ys: i32;
        output glommed: Vec<i32> = xs.glom();
        output sizes: usize = xs.map(|x| x * 2).glom().map(|part| part.len());
        output sums: i32 = xs.map_partitions(|part| [part.iter().sum::<i32>()]);
        output merged: i32 = xs.union(ys.map(|y| y * 100));
        output spread: i32 = xs.repartition(3);
        output paired: i32 = xs.transform_with(ys, |a, b| a.union(b.map(|y| -y)));
    }

    /// `map_partitions` after a fused `map`, its function naming a job
    /// parameter (rebound once with the job, then called per partition), and
    /// read by a fused `map` after it.
    pub job Chunked(limit: usize) {
        batch_interval = 1s;
        input xs: i32;
        output firsts: String = xs
            .map(|x| x * 10)
            .map_partitions(move |part: Vec<i32>| part.into_iter().take(limit).collect::<Vec<_>>())
            .map(|x| format!("<{x}>"));
    }


    /// How many times the static dataset was built, and `transform` called.
    pub static LOADS: AtomicUsize = AtomicUsize::new(0);
    pub static TRANSFORMS: AtomicUsize = AtomicUsize::new(0);

    /// A static dataset, built once (on first use) and joined with every batch
    /// inside `transform`: this is how a job enriches a stream with reference
    /// data. Joined by reference, its pairs are copied one by one as the join
    /// needs them, never as a whole batch.
    pub static NAMES: LazyLock<Batch<(u32, String)>> = LazyLock::new(|| {
        LOADS.fetch_add(1, Ordering::SeqCst);
        Batch::from([(1, "one".to_owned()), (2, "two".to_owned()), (2, "deux".to_owned())])
    });

    pub job Enrich {
        batch_interval = 1s;
        input sales: (u32, u64);
        output named: (String, u64) = sales.transform(|batch| {
            batch.join(&*NAMES, None).map(|(_, (amount, name))| (name, amount))
        });
    }

    /// `transform` with the batch time: each element tagged with its batch's
    /// time in seconds, counted by the time the function was given.
    pub job Stamped {
        batch_interval = 1s;
        input xs: i32;
        output stamped: (u64, i32) = xs.transform(|batch, time| {
            let secs = time.as_millis() / 1000;
            batch.map(move |x| (secs, x))
        });
        output untimed: i32 = xs.transform(|batch| batch.map(|x| -x));
    }

    /// Its own job: a batch runs every operator, so a counter shared with
    /// another test's job would count its batches too.
    pub job Sizes {
        batch_interval = 1s;
        input xs: i32;
        output sizes: u64 = xs.transform(|batch| {
            TRANSFORMS.fetch_add(1, Ordering::SeqCst);
            Batch::from([batch.count()])
        });
    }
}

both! {
    fn map_flat_map_filter_filter_map_keep_order() {
        let out = run_one(m::Elementwise::new(), m::Elementwise::inputs().xs([1, 2, 3, 4]));
        assert_eq!(out.mapped.to_vec(), vec![10, 20, 30, 40]);
        assert_eq!(out.repeated.to_vec(), vec![1, 2, 2, 3, 3, 3, 4, 4, 4, 4]);
        assert_eq!(out.evens.to_vec(), vec![2, 4]);
        assert_eq!(out.halves.to_vec(), vec![1, 2]);
        assert_eq!(out.chained.to_vec(), strings(["+4", "+9", "+16"]));
    }

    fn inspect_sees_every_element_and_passes_it_on() {
        let out = run_one(m::Elementwise::new(), m::Elementwise::inputs().probes([5, 6, 7]));
        assert_eq!(out.inspected.to_vec(), vec![5, 6, 7]);
        let mut seen = std::mem::take(&mut *m::INSPECTED.lock().unwrap());
        seen.sort();
        assert_eq!(seen, vec![5, 6, 7]);
    }

    fn map_values_and_flat_map_values_keep_keys() {
        let inputs = m::Elementwise::inputs()
            .pairs([("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)])
            .words(["ab", "", "c"]);
        let out = run_one(m::Elementwise::new(), inputs);
        assert_eq!(
            out.shifted.to_vec(),
            vec![("a".to_owned(), 101), ("b".to_owned(), 102), ("a".to_owned(), 103)]
        );
        assert_eq!(
            out.letters.to_vec(),
            vec![("AB".to_owned(), 'a'), ("AB".to_owned(), 'b'), ("C".to_owned(), 'c')]
        );
    }

    fn narrow_operators_keep_the_partitions() {
        let inputs = m::ElementwiseInputs {
            xs: Batch::from_partitions(vec![vec![1, 2], vec![], vec![3, 4, 5]]),
            ..m::Elementwise::inputs()
        };
        let out = run_one(m::Elementwise::new(), inputs);
        assert_eq!(parts(&out.mapped), vec![vec![10, 20], vec![], vec![30, 40, 50]]);
        assert_eq!(parts(&out.evens), vec![vec![2], vec![], vec![4]]);
        assert_eq!(parts(&out.repeated), vec![vec![1, 2, 2], vec![], vec![3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5]]);
    }

    fn an_empty_batch_gives_empty_outputs() {
        let out = run_one(m::Elementwise::new(), m::Elementwise::inputs());
        assert!(out.mapped.is_empty());
        assert!(out.repeated.is_empty());
        assert!(out.halves.is_empty());
        assert!(out.letters.is_empty());
        assert!(out.chained.is_empty());
    }


    fn glom_makes_one_vector_per_partition() {
        let job = m::WholeBatch::with_config(JobConfig::new().partitions(2)).unwrap();
        // A single-partition input is cut into the configured number of partitions.
        let out = run_one(job, m::WholeBatch::inputs().xs([1, 2, 3, 4, 5]));
        assert_eq!(out.glommed.to_vec(), vec![vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(out.sizes.to_vec(), vec![3, 2]);
        // A batch that already has partitions keeps them, empty ones included.
        let inputs = m::WholeBatchInputs {
            xs: Batch::from_partitions(vec![vec![7], vec![], vec![8, 9]]),
            ys: Batch::empty(),
        };
        let out = run_one(m::WholeBatch::new(), inputs);
        assert_eq!(out.glommed.to_vec(), vec![vec![7], vec![], vec![8, 9]]);
    }

    fn map_partitions_gets_each_whole_partition() {
        let inputs = m::WholeBatchInputs {
            xs: Batch::from_partitions(vec![vec![1, 2], vec![3], vec![], vec![4, 5, 6]]),
            ys: Batch::empty(),
        };
        let out = run_one(m::WholeBatch::new(), inputs);
        assert_eq!(parts(&out.sums), vec![vec![3], vec![3], vec![0], vec![15]]);
    }

    fn map_partitions_calls_its_rebound_function_once_per_partition() {
        let inputs = m::ChunkedInputs {
            xs: Batch::from_partitions(vec![vec![1, 2, 3], vec![4], vec![], vec![5, 6]]),
        };
        let out = run_one(m::Chunked::new(2), inputs);
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parts(&out.firsts),
            vec![strings(&["<10>", "<20>"]), strings(&["<40>"]), vec![], strings(&["<50>", "<60>"])]
        );
    }

    fn union_is_the_left_partitions_then_the_right() {
        let inputs = m::WholeBatchInputs {
            xs: Batch::from_partitions(vec![vec![1], vec![2, 3]]),
            ys: Batch::from_partitions(vec![vec![4, 5], vec![6]]),
        };
        let out = run_one(m::WholeBatch::new(), inputs);
        assert_eq!(parts(&out.merged), vec![vec![1], vec![2, 3], vec![400, 500], vec![600]]);
        assert_eq!(out.paired.to_vec(), vec![1, 2, 3, -4, -5, -6]);
        // One side empty.
        let out = run_one(m::WholeBatch::new(), m::WholeBatch::inputs().ys([6]));
        assert_eq!(out.merged.to_vec(), vec![600]);
        assert_eq!(out.paired.to_vec(), vec![-6]);
    }

    fn repartition_changes_the_partitions_not_the_elements() {
        let out = run_one(m::WholeBatch::new(), m::WholeBatch::inputs().xs([5, 3, 9, 1, 7, 3, 2]));
        assert_eq!(out.spread.num_partitions(), 3);
        assert_eq!(out.spread.clone().sorted(), vec![1, 2, 3, 3, 5, 7, 9]);
        let sizes: Vec<usize> = out.spread.partitions().iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 7);
        assert!(sizes.iter().all(|&n| (2..=3).contains(&n)), "round-robin: {sizes:?}");
    }


    fn transform_joins_with_a_static_dataset_loaded_once() {
        let outputs = run(m::Enrich::new(), [
            m::Enrich::inputs().sales([(1, 10), (2, 20), (3, 30)]),
            m::Enrich::inputs(),
            m::Enrich::inputs().sales([(1, 5), (1, 6)]),
        ]);
        let named: Vec<Vec<(String, u64)>> =
            outputs.iter().map(|o| o.named.clone().sorted()).collect();
        assert_eq!(named, vec![
            vec![("deux".to_owned(), 20), ("one".to_owned(), 10), ("two".to_owned(), 20)],
            vec![],
            vec![("one".to_owned(), 5), ("one".to_owned(), 6)],
        ]);
        assert_eq!(m::LOADS.load(Ordering::SeqCst), 1);
    }

    fn transform_with_two_arguments_gets_the_batch_time() {
        let outputs = run(m::Stamped::new(), [
            m::Stamped::inputs().xs([1, 2]),
            m::Stamped::inputs(),
            m::Stamped::inputs().xs([3]),
        ]);
        let stamped: Vec<Vec<(u64, i32)>> = outputs.iter().map(|o| o.stamped.to_vec()).collect();
        assert_eq!(stamped, vec![vec![(1, 1), (1, 2)], vec![], vec![(3, 3)]]);
        // One argument: the batch alone, as before.
        assert_eq!(outputs[2].untimed.to_vec(), vec![-3]);
    }

    fn transform_is_called_once_per_batch_with_the_whole_batch() {
        let outputs = run(m::Sizes::new(), [
            m::Sizes::inputs().xs([1, 2, 3, 4, 5]),
            m::Sizes::inputs(),
        ]);
        let sizes: Vec<Vec<u64>> = outputs.iter().map(|o| o.sizes.to_vec()).collect();
        assert_eq!(sizes, vec![vec![5], vec![0]]);
        assert_eq!(m::TRANSFORMS.load(Ordering::SeqCst), 2);
    }
}
