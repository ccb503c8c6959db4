//! Output operators, fused and unfused: `print` in Spark's exact format, and
//! `foreach_batch`, in declaration order within a batch and in batch order.

#[macro_use]
mod common;

use common::*;
use std::sync::{LazyLock, Mutex};
use streamflow::testing::PrintCapture;
use streamflow::{JobConfig, Time};

jobs! {
    /// Where the second job's `print` and `foreach_batch` both write, so that
    /// their interleaving shows.
    pub static LOG: LazyLock<PrintCapture> = LazyLock::new(PrintCapture::new);
    /// What `foreach_batch` received.
    pub static RECEIVED: Mutex<Vec<(Time, Vec<i32>)>> = Mutex::new(Vec::new());

    pub job Printing {
        batch_interval = 1s;
        input xs: i32;
        input words: String;
        xs.print();
        xs.map(|x| x * 10).print(2);
        words.print(1);
    }

    pub job Sinks {
        batch_interval = 1s;
        input xs: i32;
        xs.foreach_batch(|batch, time| RECEIVED.lock().unwrap().push((time, batch.to_vec())));
        xs.print();
        xs.count().foreach_batch(|batch, time| {
            use std::io::Write;
            let line = format!("count at {time}: {:?}\n", batch.to_vec());
            LOG.writer().lock().unwrap().write_all(line.as_bytes()).unwrap();
        });
        xs.filter(|x| *x > 1).print(1);
    }
}

both! {
    fn print_writes_sparks_format_in_declaration_order() {
        let capture = PrintCapture::new();
        let job = m::Printing::with_config(JobConfig::new().print_to(capture.writer())).unwrap();
        run(job, [
            m::Printing::inputs().xs([1, 2, 3]).words(["a", "b c"]),
            m::Printing::inputs(),
            m::Printing::inputs().xs([7, 8]).words(["d"]),
        ]);
        let expected = [
            // print(): ten elements at most.
            print_block(1000, &["1", "2", "3"]),
            // print(2) of three elements: the first two, then "...".
            print_block(1000, &["10", "20", "..."]),
            // Strings are Debug-formatted.
            print_block(1000, &["\"a\"", "..."]),
            // An empty batch still prints its header.
            print_block(2000, &[]),
            print_block(2000, &[]),
            print_block(2000, &[]),
            print_block(3000, &["7", "8"]),
            // Exactly n elements: no "...".
            print_block(3000, &["70", "80"]),
            print_block(3000, &["\"d\""]),
        ]
        .concat();
        assert_eq!(capture.take_string(), expected);
    }

    fn print_shows_ten_elements_by_default() {
        let capture = PrintCapture::new();
        let job = m::Printing::with_config(JobConfig::new().print_to(capture.writer())).unwrap();
        run(job, [m::Printing::inputs().xs(1..=11)]);
        let text = capture.take_string();
        let first = print_block(1000, &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "..."]);
        assert!(text.starts_with(&first), "{text}");
    }

    fn outputs_run_in_declaration_order_and_batches_in_time_order() {
        let config = JobConfig::new().print_to(m::LOG.writer());
        let job = m::Sinks::with_config(config).unwrap();
        run(job, [
            m::Sinks::inputs().xs([1, 2]),
            m::Sinks::inputs(),
            m::Sinks::inputs().xs([3]),
        ]);
        let expected = [
            print_block(1000, &["1", "2"]),
            "count at 1000 ms: [2]\n".to_owned(),
            print_block(1000, &["2"]),
            print_block(2000, &[]),
            "count at 2000 ms: [0]\n".to_owned(),
            print_block(2000, &[]),
            print_block(3000, &["3"]),
            "count at 3000 ms: [1]\n".to_owned(),
            print_block(3000, &["3"]),
        ]
        .concat();
        assert_eq!(m::LOG.take_string(), expected);
        // foreach_batch got every batch, the empty one too, with its time.
        assert_eq!(*m::RECEIVED.lock().unwrap(), vec![
            (Time::from_millis(1000), vec![1, 2]),
            (Time::from_millis(2000), vec![]),
            (Time::from_millis(3000), vec![3]),
        ]);
    }
}
