//! `text_file_stream` against real directories, on a manual clock: files
//! moved in during the run, files present at start, unreadable files.

mod live_support;

use live_support::*;
use std::path::Path;
use std::sync::Arc;
use streamflow::StreamingContext;
use streamflow::live::{ManualClock, StartError, StreamingEvent, sinks, sources};

/// Writes `name` under a hidden temporary name, then renames it into `dir`:
/// the atomic move the source expects.
fn move_in(dir: &Path, name: &str, contents: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// Makes `dir/name` a file that cannot be read. `chmod 000` is enough for an
/// ordinary user, but root reads through permissions: then the file is
/// replaced by a dangling symbolic link, which no one can read. Returns which
/// way was used.
fn unreadable(dir: &Path, name: &str) -> &'static str {
    let path = dir.join(name);
    std::fs::write(&path, "secret line\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&path).is_err() {
            return "chmod 000";
        }
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.join("no-such-target"), &path).unwrap();
        "dangling symlink"
    }
    #[cfg(not(unix))]
    {
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        "directory"
    }
}

#[test]
fn new_files_are_read_once_and_old_ones_ignored() {
    let dir = TempDir::new("files");
    std::fs::write(dir.path().join("old.txt"), "present at start\n").unwrap();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (sink, collected) = sinks::collect::<String>();
    let handle = StreamingContext::new(Echo::new())
        .clock(clock.clone())
        .listener(events.listener())
        .input("lines", sources::text_file_stream(dir.path()))
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();

    move_in(dir.path(), "a.txt", b"a1\na2\n");
    next_batch(&clock, &handle);
    move_in(dir.path(), "b.txt", b"b1\r\nb2");
    move_in(dir.path(), "c.txt", b"c1\n\xff\xfe\nc3\n");
    // A subdirectory is not a file: ignored.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    next_batch(&clock, &handle);
    let how = unreadable(dir.path(), "secret.txt");
    next_batch(&clock, &handle);
    // Nothing new: an empty batch, and nothing read twice.
    next_batch(&clock, &handle);
    handle.stop(false).unwrap();

    let batches = collected.batches();
    let as_strs = |i: usize| batches[i].1.iter().map(String::as_str).collect::<Vec<_>>();
    assert_eq!(as_strs(0), vec!["a1", "a2"]);
    assert_eq!(as_strs(1), vec!["b1", "b2", "c1", "c3"]);
    assert!(as_strs(2).is_empty(), "{how}");
    assert!(as_strs(3).is_empty());
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!(stats.files, 3, "{stats:?}");
    assert_eq!(stats.records, 6);
    assert_eq!(stats.rejected, 1);
    // One rejected line, one unreadable file.
    assert_eq!(stats.errors, 2, "{stats:?} ({how})");
    let errors: Vec<String> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            StreamingEvent::InputError(e) => Some(e.message),
            _ => None,
        })
        .collect();
    // A file that cannot be read is skipped when read; a link that leads
    // nowhere is not a regular file, and is left out when listed.
    let expected = match how {
        "chmod 000" => "file skipped",
        _ => "is not a regular file (nor a link to one); ignored",
    };
    assert!(
        errors.iter().any(|m| m.contains("secret.txt") && m.contains(expected)),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|m| m.contains("c.txt") && m.contains("not UTF-8")),
        "{errors:?}"
    );
    // Per-file partitions: the batch of b and c had two.
    assert_eq!(handle.batches()[1].records(), 4);
}

#[test]
fn a_directory_that_does_not_exist_is_an_error_at_start() {
    let dir = TempDir::new("missing");
    let missing = dir.path().join("nope");
    let err = StreamingContext::new(Echo::new())
        .input("lines", sources::text_file_stream(&missing))
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap_err();
    assert!(matches!(err, StartError::Directory { port: "lines", .. }), "{err}");
    assert!(err.to_string().contains("cannot watch directory"), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn a_graceful_stop_takes_the_files_that_arrived_last() {
    let dir = TempDir::new("files-stop");
    let (sink, collected) = sinks::collect::<(String, u64)>();
    let handle = StreamingContext::new(Words::new())
        .input("lines", sources::text_file_stream(dir.path()))
        .unwrap()
        .output("counts", sink)
        .unwrap()
        .start()
        .unwrap();
    for i in 0..5 {
        move_in(dir.path(), &format!("part-{i}.txt"), b"x y\nx\n");
    }
    handle.stop(true).unwrap();
    let x: u64 = collected
        .elements()
        .iter()
        .filter(|(w, _)| w == "x")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(x, 10);
    assert_eq!(handle.input_stats("lines").unwrap().files, 5);
}

/// `count` numbered lines (`line-0000`…): 10 bytes each with the newline.
fn numbered(count: usize) -> (Vec<String>, Vec<u8>) {
    let lines: Vec<String> = (0..count).map(|i| format!("line-{i:04}")).collect();
    let mut bytes = lines.join("\n").into_bytes();
    bytes.push(b'\n');
    (lines, bytes)
}

/// A line of 9 bytes is held as 9 + 24 (its `String`): a bound of ten lines.
const TEN_LINES: usize = 10 * (9 + 24);

#[test]
fn a_file_larger_than_the_bound_is_read_over_several_batches() {
    let dir = TempDir::new("files-split");
    let clock = Arc::new(ManualClock::new());
    let (sink, collected) = sinks::collect::<String>();
    let handle = StreamingContext::new(Echo::new())
        .clock(clock.clone())
        .max_buffered_bytes(TEN_LINES)
        .input("lines", sources::text_file_stream(dir.path()))
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();
    let (lines, mut bytes) = numbered(45);
    // The last line has no newline: it is still a line (the file is complete).
    bytes.pop();
    move_in(dir.path(), "a.txt", &bytes);
    move_in(dir.path(), "b.txt", b"b1\nb2\n");
    for _ in 0..4 {
        next_batch(&clock, &handle);
    }
    // A file counts as read once its last range is.
    assert_eq!(handle.input_stats("lines").unwrap().files, 0);
    next_batch(&clock, &handle);
    assert_eq!(handle.input_stats("lines").unwrap().files, 2);
    next_batch(&clock, &handle);
    handle.stop(false).unwrap();

    let batches: Vec<Vec<String>> = collected.batches().into_iter().map(|(_, b)| b).collect();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    // Ten lines a batch, in order; b.txt's two lines fit beside a's last five.
    assert_eq!(sizes, [10, 10, 10, 10, 7, 0]);
    let read: Vec<String> = batches.concat();
    let mut expected = lines;
    expected.extend(["b1".to_owned(), "b2".to_owned()]);
    assert_eq!(read, expected);
    // Two partitions in the batch that ended a.txt and read b.txt.
    assert_eq!(handle.batches()[4].records(), 7);
    assert!(handle.peak_buffered_bytes() <= TEN_LINES);
    assert!(handle.peak_buffered_bytes() >= TEN_LINES - 33);
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.files, stats.records, stats.errors), (2, 47, 0), "{stats:?}");
}

#[test]
fn a_stop_that_leaves_queued_files_unread_says_so() {
    let dir = TempDir::new("files-stop-queued");
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let handle = StreamingContext::new(Echo::new())
        .clock(clock.clone())
        .listener(events.listener())
        .max_buffered_bytes(TEN_LINES)
        .input("lines", sources::text_file_stream(dir.path()))
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    move_in(dir.path(), "a.txt", &numbered(100).1);
    next_batch(&clock, &handle);
    // The graceful stop's last batch takes ten lines more: 80 are left.
    handle.stop(true).unwrap();
    assert_eq!(handle.input_stats("lines").unwrap().records, 20);
    let errors: Vec<String> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            StreamingEvent::InputError(e) => Some(e.message),
            _ => None,
        })
        .collect();
    assert!(
        errors.iter().any(
            |m| m.contains("stopped with 1 listed file(s) not wholly read (800 bytes left") && m.contains("a.txt")
        ),
        "{errors:?}"
    );
}
