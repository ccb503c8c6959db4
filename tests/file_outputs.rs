//! The file output operators written inside a job, fused and unfused: a
//! directory `prefix-TIME_IN_MS[.suffix]` per batch with one `part-NNNNN` file
//! per partition and a `_SUCCESS` marker (docs/semantics.md, "Outputs").

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use streamflow::live::sinks::{read_object_files, read_text_files};

/// A fresh directory for this test binary's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamflow-file-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The lines of a batch directory's part files, sorted.
fn text_lines(dir: &Path) -> Vec<String> {
    let mut lines: Vec<String> = read_text_files(dir).unwrap().into_iter().flatten().collect();
    lines.sort();
    lines
}

jobs! {
    /// Each module (fused, unfused) writes under its own directory.
    pub static OUT: LazyLock<PathBuf> = LazyLock::new(|| scratch(module_path!().rsplit("::").next().unwrap()));

    pub job Files {
        batch_interval = 1s;
        input words: String;
        let counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b, 2);
        counts.save_as_text_files(OUT.join("counts").to_string_lossy().into_owned(), "txt");
        words.save_as_object_files(OUT.join("words").to_string_lossy().into_owned());
    }
}

both! {
    // One test per module: the module's directory is its own.
    fn every_batch_is_a_complete_directory_named_after_its_time() {
        let mut run = streamflow::testing::TestRun::new(m::Files::new());
        run.run_batch(m::Files::inputs().words(["a", "b", "a"])).unwrap();
        run.run_batch(m::Files::inputs().words(Vec::<String>::new())).unwrap();

        let first = m::OUT.join("counts-1000.txt");
        assert!(first.join("_SUCCESS").is_file(), "{} has its marker", first.display());
        assert_eq!(read_text_files(&first).unwrap().len(), 2, "one part file per partition");
        assert_eq!(text_lines(&first), ["(a,2)", "(b,1)"]);
        // An empty batch is still a batch: its directory exists, with no lines.
        let second = m::OUT.join("counts-2000.txt");
        assert!(second.join("_SUCCESS").is_file());
        assert!(text_lines(&second).is_empty());
        // Nothing half-written is left beside the batch directories.
        let mut names: Vec<String> =
            std::fs::read_dir(&*m::OUT).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        // (Each output's writer holds its prefix with a hidden lock file.)
        assert_eq!(
            names,
            [".counts.txt.lock", ".words.lock", "counts-1000.txt", "counts-2000.txt", "words-1000", "words-2000"]
        );

        // Object files read back as the batch.
        let partitions: Vec<Vec<String>> = read_object_files(&m::OUT.join("words-1000")).unwrap();
        let mut words: Vec<String> = partitions.into_iter().flatten().collect();
        words.sort();
        assert_eq!(words, ["a", "a", "b"]);
        std::fs::remove_dir_all(&*m::OUT).unwrap();
    }
}
