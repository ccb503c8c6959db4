//! `save_as_text_files` and `save_as_object_files`: a directory per batch,
//! written atomically (docs/semantics.md, "Outputs").

use super::Sink;
use super::error::SinkError;
use super::publish::BatchPublisher;
use crate::{Batch, Time};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The directory of the batch at `time`: `prefix-TIME_IN_MS`, or
/// `prefix-TIME_IN_MS.suffix` when `suffix` is not empty (Spark's naming).
pub fn batch_directory(prefix: &str, suffix: &str, time: Time) -> PathBuf {
    let mut name = format!("{prefix}-{}", time.as_millis());
    if !suffix.is_empty() {
        name.push('.');
        name.push_str(suffix);
    }
    PathBuf::from(name)
}

/// How an element is written as a line of text. Like Spark's `toString`:
/// strings and numbers as they are, tuples as `(a,b)`, options as
/// `Some(x)`/`None`. Implement it for your own types, or write them with a
/// `map` to `String` first.
pub trait TextRecord {
    /// Appends the element's text (without a newline).
    fn write_text(&self, out: &mut String);
}

macro_rules! text_by_display {
    ($($t:ty),*) => {$(
        impl TextRecord for $t {
            fn write_text(&self, out: &mut String) {
                // Writing to a String cannot fail.
                let _ = write!(out, "{self}");
            }
        }
    )*};
}

text_by_display!(
    String, str, char, bool, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, Time
);

impl<T: TextRecord + ?Sized> TextRecord for &T {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out)
    }
}

impl<T: TextRecord> TextRecord for Option<T> {
    fn write_text(&self, out: &mut String) {
        match self {
            Some(x) => {
                out.push_str("Some(");
                x.write_text(out);
                out.push(')');
            }
            None => out.push_str("None"),
        }
    }
}

macro_rules! text_tuple {
    ($($name:ident),+) => {
        impl<$($name: TextRecord),+> TextRecord for ($($name,)+) {
            #[allow(non_snake_case)]
            fn write_text(&self, out: &mut String) {
                let ($($name,)+) = self;
                out.push('(');
                let mut first = true;
                $(
                    if !first { out.push(','); }
                    first = false;
                    $name.write_text(out);
                )+
                let _ = first;
                out.push(')');
            }
        }
    };
}

text_tuple!(A, B);
text_tuple!(A, B, C);
text_tuple!(A, B, C, D);

/// Writes every batch as text files: a directory per batch (see
/// [`batch_directory`]) holding `part-00000`, `part-00001`, ... (one per
/// partition, one element per line) and an empty `_SUCCESS` marker.
///
/// Publishing a batch is one atomic, durable step: the directory is written
/// under a hidden temporary name next to it, its files and itself fsynced,
/// then renamed into place, so a reader never sees a partial batch and a
/// crash leaves the old complete batch or the new complete one. A batch
/// written again (same time, as after recovery) with the same bytes leaves
/// the directory as it is; with other bytes, the new one replaces the old in
/// one atomic exchange. One writer per prefix: a second one (another job,
/// another sink) fails with [`SinkError::PrefixInUse`]. The first write of a
/// sink removes the hidden temporary directories a crashed run of the prefix
/// left behind.
///
/// On a cluster each process writes the `part-NNNNN` files of the partitions
/// it owns straight into the batch's directory (each file atomically), and
/// once every process has written its parts, process 0 writes `_SUCCESS`:
/// wait for `_SUCCESS` before reading a batch's directory. Each process
/// takes its own lock on the prefix.
pub fn save_as_text_files(prefix: impl Into<String>, suffix: impl Into<String>) -> TextFilesSink {
    TextFilesSink::new(prefix.into(), suffix.into())
}

/// The sink made by [`save_as_text_files`]. A clone writes the same prefix: it is
/// a second writer, refused like one (see [`SinkError::PrefixInUse`]) unless
/// the first one is gone.
#[derive(Debug)]
pub struct TextFilesSink {
    prefix: String,
    suffix: String,
    publisher: BatchPublisher,
}

impl TextFilesSink {
    fn new(prefix: String, suffix: String) -> Self {
        let publisher = BatchPublisher::new(prefix.clone(), suffix.clone());
        TextFilesSink {
            prefix,
            suffix,
            publisher,
        }
    }
}

impl Clone for TextFilesSink {
    fn clone(&self) -> Self {
        TextFilesSink::new(self.prefix.clone(), self.suffix.clone())
    }
}

impl<T: TextRecord + Send + Sync + 'static> Sink<T> for TextFilesSink {
    fn name(&self) -> String {
        format!("save_as_text_files({:?}, {:?})", self.prefix, self.suffix)
    }

    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        let parts = batch.partitions().iter().map(|part| {
            let mut text = String::new();
            for x in part {
                x.write_text(&mut text);
                text.push('\n');
            }
            Ok(text.into_bytes())
        });
        let dir = batch_directory(&self.prefix, &self.suffix, time);
        self.publisher.publish_owned(&dir, parts, batch.num_partitions())
    }

    fn writes_in_place(&self) -> bool {
        true
    }

    fn place(&mut self, process: usize, processes: usize) {
        self.publisher.place(process, processes);
    }

    fn complete(&mut self, time: Time) -> Result<(), SinkError> {
        self.publisher
            .complete(&batch_directory(&self.prefix, &self.suffix, time))
    }
}

/// Like [`save_as_text_files`], with elements serialized with serde in
/// postcard's compact binary format: each `part-NNNNN` file holds its
/// partition as one postcard sequence. Read a batch back with
/// [`read_object_files`].
pub fn save_as_object_files(prefix: impl Into<String>, suffix: impl Into<String>) -> ObjectFilesSink {
    ObjectFilesSink::new(prefix.into(), suffix.into())
}

/// The sink made by [`save_as_object_files`]. A clone writes the same prefix: it is
/// a second writer, refused like one (see [`SinkError::PrefixInUse`]) unless
/// the first one is gone.
#[derive(Debug)]
pub struct ObjectFilesSink {
    prefix: String,
    suffix: String,
    publisher: BatchPublisher,
}

impl ObjectFilesSink {
    fn new(prefix: String, suffix: String) -> Self {
        let publisher = BatchPublisher::new(prefix.clone(), suffix.clone());
        ObjectFilesSink {
            prefix,
            suffix,
            publisher,
        }
    }
}

impl Clone for ObjectFilesSink {
    fn clone(&self) -> Self {
        ObjectFilesSink::new(self.prefix.clone(), self.suffix.clone())
    }
}

impl<T: Serialize + Send + Sync + 'static> Sink<T> for ObjectFilesSink {
    fn name(&self) -> String {
        format!("save_as_object_files({:?}, {:?})", self.prefix, self.suffix)
    }

    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        let parts = batch
            .partitions()
            .iter()
            .map(|part| postcard::to_stdvec(part).map_err(|e| SinkError::Serialize(e.to_string())));
        let dir = batch_directory(&self.prefix, &self.suffix, time);
        self.publisher.publish_owned(&dir, parts, batch.num_partitions())
    }

    fn writes_in_place(&self) -> bool {
        true
    }

    fn place(&mut self, process: usize, processes: usize) {
        self.publisher.place(process, processes);
    }

    fn complete(&mut self, time: Time) -> Result<(), SinkError> {
        self.publisher
            .complete(&batch_directory(&self.prefix, &self.suffix, time))
    }
}

/// Reads a batch directory written by [`save_as_object_files`]: its
/// partitions, in order. Fails if the directory has no `_SUCCESS` marker.
pub fn read_object_files<T: DeserializeOwned>(dir: &Path) -> Result<Vec<Vec<T>>, SinkError> {
    part_files(dir)?
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(io_error(path))?;
            postcard::from_bytes(&bytes).map_err(|e| SinkError::Serialize(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// Reads back one batch written by [`save_as_text_files`]: the lines of each
/// partition, in partition order. Fails if the batch is not complete (no
/// `_SUCCESS` marker).
pub fn read_text_files(dir: &Path) -> Result<Vec<Vec<String>>, SinkError> {
    part_files(dir)?
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(io_error(path))?;
            Ok(text.lines().map(str::to_owned).collect())
        })
        .collect()
}

/// The `part-NNNNN` files of a complete batch directory, in partition order.
fn part_files(dir: &Path) -> Result<Vec<PathBuf>, SinkError> {
    let success = dir.join("_SUCCESS");
    std::fs::metadata(&success).map_err(io_error(&success))?;
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")))
        .collect();
    parts.sort();
    Ok(parts)
}

/// An I/O error while reading `path`.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError {
    let path = path.to_owned();
    move |source| SinkError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "streamflow-sinks-{name}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn text_records_look_like_sparks() {
        let mut s = String::new();
        ("a".to_owned(), 3u64).write_text(&mut s);
        s.push(' ');
        (1, (2.5, Some('x')), None::<u8>).write_text(&mut s);
        assert_eq!(s, "(a,3) (1,(2.5,Some(x)),None)");
    }

    #[test]
    fn text_files_are_written_per_batch_and_partition() {
        let dir = temp_dir("text");
        let prefix = dir.join("counts").to_string_lossy().into_owned();
        let mut sink = save_as_text_files(prefix.clone(), "txt");
        let batch = Batch::from_partitions(vec![vec![("a", 1)], vec![], vec![("b", 2), ("c", 3)]]);
        Sink::write(&mut sink, Time::from_millis(1000), &batch).unwrap();
        let out = dir.join("counts-1000.txt");
        assert_eq!(std::fs::read_to_string(out.join("part-00000")).unwrap(), "(a,1)\n");
        assert_eq!(std::fs::read_to_string(out.join("part-00001")).unwrap(), "");
        assert_eq!(
            std::fs::read_to_string(out.join("part-00002")).unwrap(),
            "(b,2)\n(c,3)\n"
        );
        assert!(out.join("_SUCCESS").exists());
        // Written again: replaced, and no temporary directory left behind.
        Sink::write(&mut sink, Time::from_millis(1000), &Batch::from_vec(vec![("z", 9)])).unwrap();
        assert!(!out.join("part-00001").exists());
        let mut sink = save_as_text_files(prefix, "");
        Sink::<u8>::write(&mut sink, Time::from_millis(2000), &Batch::empty()).unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        // The writers' lock files, and no temporary directory.
        assert_eq!(
            names,
            vec![".counts.lock", ".counts.txt.lock", "counts-1000.txt", "counts-2000"]
        );
        assert!(dir.join("counts-2000/_SUCCESS").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn object_files_round_trip() {
        let dir = temp_dir("objects");
        let prefix = dir.join("o").to_string_lossy().into_owned();
        let mut sink = save_as_object_files(prefix, "bin");
        let batch = Batch::from_partitions(vec![vec![("a".to_owned(), 1u64)], vec![("b".to_owned(), 2)]]);
        Sink::write(&mut sink, Time::from_millis(500), &batch).unwrap();
        let back: Vec<Vec<(String, u64)>> = read_object_files(&dir.join("o-500.bin")).unwrap();
        assert_eq!(back, batch.partitions());
        assert!(read_object_files::<u8>(&dir).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
