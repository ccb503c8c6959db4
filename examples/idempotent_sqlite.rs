//! Exactly-once results in an external database: each batch's word counts
//! are upserted into SQLite, keyed by the batch time, in one transaction per
//! batch. A batch that runs again after a crash writes the same rows under
//! the same key, so the table ends the same whether or not the job crashed.
//!
//! The example runs the job twice on a checkpoint. The first run dies just
//! after its first non-empty batch was written to the database, before the
//! batch was committed (as a process killed at that moment would). The
//! second resumes it with `get_or_create`: that batch runs again and writes
//! its rows again, over the same keys. Then the example checks the table
//! against a plain count of the input and prints the totals.
//!
//! ```text
//! cargo run --example idempotent_sqlite
//! ```

use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamflow::live::{StreamingContext, sinks, sources};
use streamflow::prelude::*;

stream_job! {
    /// Word counts per batch.
    pub job BatchCounts {
        batch_interval = 200ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// Writes one batch: all its rows, keyed by (batch time, word), in one
/// transaction. Running it twice for a batch leaves the same rows.
fn upsert(db: &mut Connection, time: Time, batch: &Batch<(String, u64)>) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    {
        let mut row = tx.prepare_cached(
            "INSERT INTO counts (batch_ms, word, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (batch_ms, word) DO UPDATE SET count = excluded.count",
        )?;
        for (word, count) in batch.iter() {
            row.execute(params![time.as_millis() as i64, word, *count as i64])?;
        }
    }
    tx.commit()
}

/// One run of the job on `input`, checkpointed in `checkpoint`, writing to
/// `db`, for `batches` batches; with `crash`, the run dies right after its
/// first non-empty batch is written, before that batch is committed.
fn run(input: &Path, checkpoint: &Path, db: &Arc<Mutex<Connection>>, batches: u64, crash: bool) -> Result<(), String> {
    let db = db.clone();
    let write = sinks::foreach(move |batch: &Batch<(String, u64)>, time: Time| {
        let mut db = db.lock().unwrap_or_else(|e| e.into_inner());
        // A failed write panics here, which fails the batch: it is not
        // committed, and runs again after a restart.
        upsert(&mut db, time, batch).expect("write to SQLite");
        assert!(!crash || batch.is_empty(), "simulated crash after the database write");
    });
    let handle = StreamingContext::get_or_create(checkpoint, || {
        StreamingContext::new(BatchCounts::new())
            .input("lines", sources::text_file_stream(input))?
            .output("counts", write)
    })
    .map_err(|e| e.to_string())?
    .start()
    .map_err(|e| e.to_string())?;
    if let Some(recovered) = handle.recovery() {
        println!("resumed: {} recorded batches run again", recovered.batches.len());
    }
    if crash {
        // The batch fails and stops the job: its outputs are not committed.
        let died = handle.await_termination().is_err();
        return if died {
            Ok(())
        } else {
            Err("the first run did not fail".to_owned())
        };
    }
    let done = handle.batches_completed() + batches;
    handle.wait_for_batches(done, Duration::from_secs(30));
    handle.stop(true).map(|_| ()).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    // The simulated crash is a panic in the sink: say it in one line.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied());
        match message {
            Some(m) if m.starts_with("simulated crash") => println!("first run: {m}"),
            _ => default_hook(info),
        }
    }));
    let root = std::env::temp_dir().join(format!("streamflow-sqlite-{}", std::process::id()));
    let input = root.join("in");
    let checkpoint = root.join("checkpoint");
    if let Err(e) = std::fs::create_dir_all(&input) {
        eprintln!("cannot create {}: {e}", input.display());
        return ExitCode::FAILURE;
    }
    let result = (|| -> Result<BTreeMap<String, i64>, String> {
        let db = Connection::open(root.join("counts.db")).map_err(|e| e.to_string())?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS counts (
                 batch_ms INTEGER NOT NULL, word TEXT NOT NULL, count INTEGER NOT NULL,
                 PRIMARY KEY (batch_ms, word))",
        )
        .map_err(|e| e.to_string())?;
        let db = Arc::new(Mutex::new(db));
        let lines: Vec<&str> = streamflow_workspace::SAMPLE_TEXT.lines().collect();
        let (first, second) = lines.split_at(lines.len() / 2);
        let move_in = |name: &str, text: &[&str]| {
            let tmp = input.join(format!(".{name}"));
            std::fs::write(&tmp, text.join("\n")).and_then(|()| std::fs::rename(&tmp, input.join(name)))
        };
        // First run: half the text arrives; the run dies after writing it.
        let writer = std::thread::scope(|s| {
            let feeder = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                move_in("part-1.txt", first)
            });
            let ran = run(&input, &checkpoint, &db, 0, true);
            feeder
                .join()
                .map_err(|_| "the feeder panicked".to_owned())?
                .map_err(|e| e.to_string())?;
            ran
        });
        writer?;
        // Second run: resumes from the checkpoint; the rest arrives.
        move_in("part-2.txt", second).map_err(|e| e.to_string())?;
        run(&input, &checkpoint, &db, 3, false)?;
        let db = db.lock().unwrap_or_else(|e| e.into_inner());
        let mut query = db
            .prepare("SELECT word, SUM(count) FROM counts GROUP BY word")
            .map_err(|e| e.to_string())?;
        let totals = query
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
            .map_err(|e| e.to_string())?
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(totals)
    })();
    let _ = std::fs::remove_dir_all(&root);
    let totals = match result {
        Ok(totals) => totals,
        Err(e) => {
            eprintln!("idempotent_sqlite: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for word in streamflow_workspace::SAMPLE_TEXT.split_whitespace() {
        *expected.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    let mut top: Vec<(&String, &i64)> = totals.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (word, count) in top.iter().take(10) {
        println!("{word}: {count}");
    }
    if totals != expected {
        eprintln!("idempotent_sqlite: the table does not match the input's counts");
        return ExitCode::FAILURE;
    }
    println!(
        "the table holds every word of the input exactly once ({} words)",
        expected.values().sum::<i64>()
    );
    ExitCode::SUCCESS
}
