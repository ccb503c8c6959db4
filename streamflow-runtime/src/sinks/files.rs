//! `save_as_text_files` and `save_as_object_files`: a directory per batch,
//! written atomically (docs/semantics.md, "Outputs").

use super::Sink;
use super::error::SinkError;
use crate::{Batch, Time};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
/// partition, one element per line) and an empty `_SUCCESS` marker. The
/// directory is written under a hidden temporary name next to it and renamed
/// into place, so a reader never sees a partial batch. A batch written again
/// (same time) replaces the old directory.
pub fn save_as_text_files(prefix: impl Into<String>, suffix: impl Into<String>) -> TextFilesSink {
    TextFilesSink {
        prefix: prefix.into(),
        suffix: suffix.into(),
    }
}

/// The sink made by [`save_as_text_files`].
#[derive(Debug, Clone)]
pub struct TextFilesSink {
    prefix: String,
    suffix: String,
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
        write_batch(&batch_directory(&self.prefix, &self.suffix, time), parts)
    }
}

/// Like [`save_as_text_files`], with elements serialized with serde in
/// postcard's compact binary format: each `part-NNNNN` file holds its
/// partition as one postcard sequence. Read a batch back with
/// [`read_object_files`].
pub fn save_as_object_files(prefix: impl Into<String>, suffix: impl Into<String>) -> ObjectFilesSink {
    ObjectFilesSink {
        prefix: prefix.into(),
        suffix: suffix.into(),
    }
}

/// The sink made by [`save_as_object_files`].
#[derive(Debug, Clone)]
pub struct ObjectFilesSink {
    prefix: String,
    suffix: String,
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
        write_batch(&batch_directory(&self.prefix, &self.suffix, time), parts)
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

/// Distinguishes temporary directories of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `parts` as `part-NNNNN` files plus `_SUCCESS` into a temporary
/// directory beside `dir`, then renames it to `dir`.
fn write_batch(dir: &Path, parts: impl Iterator<Item = Result<Vec<u8>, SinkError>>) -> Result<(), SinkError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SinkError::Io { path, source }
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    // Hidden, so that a directory watcher (text_file_stream) skips it.
    let tmp = parent.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        std::fs::create_dir(&tmp).map_err(io(&tmp))?;
        for (i, part) in parts.enumerate() {
            let path = tmp.join(format!("part-{i:05}"));
            std::fs::write(&path, part?).map_err(io(&path))?;
        }
        let success = tmp.join("_SUCCESS");
        std::fs::write(&success, b"").map_err(io(&success))?;
        if dir.exists() {
            // A batch written again (a re-run) replaces the old one.
            let old = parent.join(format!(".{name}.old-{}", std::process::id()));
            std::fs::rename(dir, &old).map_err(io(dir))?;
            let _ = std::fs::remove_dir_all(&old);
        }
        std::fs::rename(&tmp, dir).map_err(io(dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(names, vec!["counts-1000.txt", "counts-2000"]);
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
