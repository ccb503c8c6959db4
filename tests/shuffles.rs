//! Shuffle operators, fused and unfused: count, reduce, count_by_value,
//! distinct, reduce_by_key, group_by_key, combine_by_key, the joins and
//! cogroup. The order of a shuffle's output is unspecified: outputs are
//! compared sorted.

#[macro_use]
mod common;

use common::*;
use streamflow::JobConfig;

jobs! {
    pub job Aggregates {
        batch_interval = 1s;
        input xs: i32;
        input words: &'static str;
        output count: u64 = xs.count();
        output sum: i32 = xs.reduce(|a, b| a + b);
        output largest: i32 = xs.map(|x| x * 10).reduce(|a, b| a.max(b));
        output counts: (&'static str, u64) = words.count_by_value();
        output counts3: (&'static str, u64) = words.count_by_value(3);
        output unique: &'static str = words.distinct();
        output unique2: &'static str = words.map(|w| w.trim()).distinct(2);
    }

    pub job ByKey {
        batch_interval = 1s;
        input pairs: (&'static str, i32);
        output sums: (&'static str, i32) = pairs.reduce_by_key(|a, b| a + b);
        output sums3: (&'static str, i32) = pairs.reduce_by_key(|a, b| a + b, 3);
        output groups: (&'static str, Vec<i32>) = pairs.group_by_key();
        output groups2: (&'static str, Vec<i32>) = pairs.group_by_key(2);
        // (sum, count) per key, as Spark's guide computes an average.
        output averages: (&'static str, (i32, u32)) = pairs.combine_by_key(
            |v| (v, 1),
            |(sum, n), v| (sum + v, n + 1),
            |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
        );
        output averages4: (&'static str, (i32, u32)) = pairs.combine_by_key(
            |v| (v, 1),
            |(sum, n), v| (sum + v, n + 1),
            |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
            4,
        );
    }

    pub job Joins {
        batch_interval = 1s;
        input left: (u32, &'static str);
        input right: (u32, char);
        output inner: (u32, (&'static str, char)) = left.join(right);
        output inner2: (u32, (&'static str, char)) = left.join(right, 2);
        output left_outer: (u32, (&'static str, Option<char>)) = left.left_outer_join(right);
        output right_outer: (u32, (Option<&'static str>, char)) = left.right_outer_join(right);
        output full: (u32, (Option<&'static str>, Option<char>)) = left.full_outer_join(right);
        output groups: (u32, (Vec<&'static str>, Vec<char>)) = left.cogroup(right);
        output groups3: (u32, (Vec<&'static str>, Vec<char>)) = left.cogroup(right, 3);
    }
}

/// Key 1 has two values on each side, key 2 is only on the left, key 3 only
/// on the right.
const LEFT: [(u32, &str); 3] = [(1, "a"), (2, "c"), (1, "b")];
const RIGHT: [(u32, char); 3] = [(3, 'z'), (1, 'x'), (1, 'y')];

both! {
    fn count_of_a_batch_and_of_an_empty_batch() {
        let outputs = run(m::Aggregates::new(), [
            m::Aggregates::inputs().xs([4, 8, 15, 16, 23, 42]),
            m::Aggregates::inputs(),
        ]);
        assert_eq!(outputs[0].count.to_vec(), vec![6]);
        assert_eq!(outputs[1].count.to_vec(), vec![0]);
    }

    fn reduce_of_a_batch_and_of_an_empty_batch() {
        let outputs = run(m::Aggregates::new(), [
            m::Aggregates::inputs().xs([4, 8, 15, 16, 23, 42]),
            m::Aggregates::inputs(),
            m::Aggregates::inputs().xs([-3]),
        ]);
        assert_eq!(outputs[0].sum.to_vec(), vec![108]);
        assert_eq!(outputs[0].largest.to_vec(), vec![420]);
        assert_eq!(outputs[1].sum.to_vec(), Vec::<i32>::new());
        assert_eq!(outputs[1].largest.to_vec(), Vec::<i32>::new());
        assert_eq!(outputs[2].sum.to_vec(), vec![-3]);
    }

    fn count_by_value_gives_value_count_pairs() {
        let words = ["b", "a", "c", "a", "b", "a"];
        let out = run_one(m::Aggregates::new(), m::Aggregates::inputs().words(words));
        let expected = vec![("a", 3), ("b", 2), ("c", 1)];
        assert_eq!(out.counts.clone().sorted(), expected);
        assert_eq!(out.counts3.num_partitions(), 3);
        assert_eq!(out.counts3.clone().sorted(), expected);
        let empty = run_one(m::Aggregates::new(), m::Aggregates::inputs());
        assert!(empty.counts.is_empty());
    }

    fn distinct_keeps_each_value_once() {
        let words = ["b", "a", " b", "c", "a", "b ", "a"];
        let out = run_one(m::Aggregates::new(), m::Aggregates::inputs().words(words));
        assert_eq!(out.unique.clone().sorted(), vec![" b", "a", "b", "b ", "c"]);
        assert_eq!(out.unique2.num_partitions(), 2);
        assert_eq!(out.unique2.clone().sorted(), vec!["a", "b", "c"]);
    }

    fn reduce_by_key_with_default_and_explicit_partitions() {
        let pairs = [("a", 1), ("b", 10), ("a", 2), ("c", 100), ("b", 20), ("a", 3)];
        let job = m::ByKey::with_config(JobConfig::new().partitions(4)).unwrap();
        let out = run_one(job, m::ByKey::inputs().pairs(pairs));
        let expected = vec![("a", 6), ("b", 30), ("c", 100)];
        assert_eq!(out.sums.num_partitions(), 4);
        assert_eq!(out.sums.clone().sorted(), expected);
        assert_eq!(out.sums3.num_partitions(), 3);
        assert_eq!(out.sums3.clone().sorted(), expected);
    }

    fn group_by_key_keeps_values_in_arrival_order() {
        let pairs = [("a", 3), ("b", 10), ("a", 1), ("c", 7), ("b", 5), ("a", 2), ("a", 9), ("b", 0)];
        let out = run_one(m::ByKey::new(), m::ByKey::inputs().pairs(pairs));
        let expected = vec![("a", vec![3, 1, 2, 9]), ("b", vec![10, 5, 0]), ("c", vec![7])];
        assert_eq!(out.groups.clone().sorted(), expected);
        assert_eq!(out.groups2.num_partitions(), 2);
        assert_eq!(out.groups2.clone().sorted(), expected);
    }

    fn combine_by_key_combines_per_key() {
        let pairs = [("a", 1), ("b", 10), ("a", 2), ("a", 6), ("b", 20)];
        let out = run_one(m::ByKey::new(), m::ByKey::inputs().pairs(pairs));
        let expected = vec![("a", (9, 3)), ("b", (30, 2))];
        assert_eq!(out.averages.clone().sorted(), expected);
        assert_eq!(out.averages4.num_partitions(), 4);
        assert_eq!(out.averages4.clone().sorted(), expected);
    }

    fn shuffles_of_an_empty_batch_are_empty() {
        let out = run_one(m::ByKey::new(), m::ByKey::inputs());
        assert!(out.sums.is_empty() && out.sums3.is_empty());
        assert!(out.groups.is_empty() && out.averages.is_empty());
    }

    fn inner_join_pairs_every_value_of_a_key() {
        let out = run_one(m::Joins::new(), m::Joins::inputs().left(LEFT).right(RIGHT));
        // Two values on each side for key 1: four pairs.
        let expected = vec![(1, ("a", 'x')), (1, ("a", 'y')), (1, ("b", 'x')), (1, ("b", 'y'))];
        assert_eq!(out.inner.clone().sorted(), expected);
        assert_eq!(out.inner2.num_partitions(), 2);
        assert_eq!(out.inner2.clone().sorted(), expected);
    }

    fn outer_joins_fill_the_missing_side_with_none() {
        let out = run_one(m::Joins::new(), m::Joins::inputs().left(LEFT).right(RIGHT));
        assert_eq!(out.left_outer.clone().sorted(), vec![
            (1, ("a", Some('x'))),
            (1, ("a", Some('y'))),
            (1, ("b", Some('x'))),
            (1, ("b", Some('y'))),
            (2, ("c", None)),
        ]);
        assert_eq!(out.right_outer.clone().sorted(), vec![
            (1, (Some("a"), 'x')),
            (1, (Some("a"), 'y')),
            (1, (Some("b"), 'x')),
            (1, (Some("b"), 'y')),
            (3, (None, 'z')),
        ]);
        assert_eq!(out.full.clone().sorted(), vec![
            (1, (Some("a"), Some('x'))),
            (1, (Some("a"), Some('y'))),
            (1, (Some("b"), Some('x'))),
            (1, (Some("b"), Some('y'))),
            (2, (Some("c"), None)),
            (3, (None, Some('z'))),
        ]);
    }

    fn cogroup_gives_both_sides_values_per_key() {
        let out = run_one(m::Joins::new(), m::Joins::inputs().left(LEFT).right(RIGHT));
        let expected = vec![
            (1, (vec!["a", "b"], vec!['x', 'y'])),
            (2, (vec!["c"], vec![])),
            (3, (vec![], vec!['z'])),
        ];
        assert_eq!(out.groups.clone().sorted(), expected);
        assert_eq!(out.groups3.num_partitions(), 3);
        assert_eq!(out.groups3.clone().sorted(), expected);
    }

    fn joins_with_one_side_empty() {
        let out = run_one(m::Joins::new(), m::Joins::inputs().left([(1, "a")]));
        assert!(out.inner.is_empty());
        assert!(out.right_outer.is_empty());
        assert_eq!(out.left_outer.to_vec(), vec![(1, ("a", None))]);
        assert_eq!(out.full.to_vec(), vec![(1, (Some("a"), None))]);
        assert_eq!(out.groups.to_vec(), vec![(1, (vec!["a"], vec![]))]);
        let out = run_one(m::Joins::new(), m::Joins::inputs());
        assert!(out.full.is_empty() && out.groups.is_empty());
    }
}
