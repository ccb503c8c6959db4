//! One process's view of what a batch read on every process of a cluster:
//! the positions each process recorded for an input, combined, then cut
//! down to the share of the process reading them now (which may be one of
//! another number of processes than the ones that recorded them).
//!
//! Two sources' positions combine:
//! - the directory source's: its cut's ranges, listing and queue are each
//!   per file, and a file belongs to exactly one process's share; they are
//!   cut here to the share of the process reading them;
//! - a Kafka stream's: each process recorded the ranges of the topic
//!   partitions it read; their union is given to every process, whose
//!   source reads only its own partitions of it (which partitions are whose
//!   depends on the topics' partition counts, which the source knows). That
//!   union is `kafka/share.rs`'s (recovery calls it first: `kafka` uses
//!   this module, not the other way round).
//!
//! A receiver runs on process 0 of a cluster only: its block ranges are
//! process 0's alone, and every process is given them (only process 0
//! reads them: the others' feed ignores them).

use super::blocks::BlockRange;
use super::{DirectoryCut, Positions};
use crate::cluster::Share;
use std::collections::HashSet;

/// Whether positions of the Rust type `type_name` combine here (a Kafka
/// stream's combine in `kafka/share.rs`: `kafka` uses `sources`, not the
/// other way round).
pub(crate) fn combines(type_name: &str) -> bool {
    type_name == std::any::type_name::<DirectoryCut>()
}

/// The positions an input of type `type_name` recorded for one batch on
/// every process (by process index; `None`: that cut failed), as the process
/// with `share` (`None`: the only one) reads them now. One part read by one
/// process is given as it is, and so is process 0's part of block ranges
/// (a receiver's, which runs on process 0 only: the other processes record
/// nothing).
pub(crate) fn combine(
    type_name: &str,
    parts: &[Option<&[u8]>],
    share: Option<Share>,
) -> Result<Option<Vec<u8>>, String> {
    let alone = share.is_none_or(|s| s.processes == 1);
    if (parts.len() == 1 && alone) || type_name == std::any::type_name::<BlockRange>() {
        return Ok(parts.first().copied().flatten().map(<[u8]>::to_vec));
    }
    if !combines(type_name) {
        return Err(format!(
            "its positions (`{type_name}`) were recorded by {} processes and are read by {}: only a directory \
             source's and a Kafka stream's positions combine across processes",
            parts.len(),
            share.map_or(1, |s| s.processes)
        ));
    }
    let cuts = parts
        .iter()
        .flatten()
        .map(|bytes| DirectoryCut::from_bytes(bytes).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    if cuts.is_empty() {
        return Ok(None);
    }
    let cut = union(cuts, share);
    cut.to_bytes().map(Some).map_err(|e| e.to_string())
}

/// The cuts of one batch on every process as one, with only the files
/// `share` reads in its ranges and queue (every file listed anywhere is
/// listed: it is no longer new to anyone).
fn union(cuts: Vec<DirectoryCut>, share: Option<Share>) -> DirectoryCut {
    let ours = |name: &std::ffi::OsStr| share.is_none_or(|s| s.reads(name.as_encoded_bytes()));
    let mut seen = HashSet::new();
    let mut combined = DirectoryCut {
        ranges: Vec::new(),
        listing: Vec::new(),
        queue: Vec::new(),
    };
    for cut in cuts {
        combined.ranges.extend(cut.ranges.into_iter().filter(|r| ours(&r.name)));
        combined.queue.extend(cut.queue.into_iter().filter(|f| ours(&f.name)));
        for id in cut.listing {
            if seen.insert(id.clone()) {
                combined.listing.push(id);
            }
        }
    }
    combined
}

#[cfg(test)]
mod tests {
    use super::super::file_ranges::{FileRange, PendingFile};
    use super::*;

    fn range(name: &str) -> FileRange {
        FileRange {
            name: name.into(),
            inode: 1,
            start: 0,
            end: 10,
            size: 20,
            lines: 1,
        }
    }

    fn pending(name: &str) -> PendingFile {
        PendingFile {
            name: name.into(),
            inode: 1,
            next: 10,
            size: 20,
        }
    }

    fn share(process: usize, processes: usize) -> Option<Share> {
        Some(Share {
            process,
            processes,
            partitions: 4,
        })
    }

    #[test]
    fn a_batch_read_by_two_processes_is_cut_to_each_new_share() {
        let names = ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"];
        let cut = |names: &[&str]| DirectoryCut {
            ranges: names.iter().map(|n| range(n)).collect(),
            listing: Vec::new(),
            queue: names.iter().map(|n| pending(n)).collect(),
        };
        // As 2 processes recorded it: each its own share of the files.
        let parts: Vec<Vec<u8>> = (0..2)
            .map(|p| {
                let mine: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| share(p, 2).unwrap().reads(n.as_bytes()))
                    .collect();
                cut(&mine).to_bytes().unwrap()
            })
            .collect();
        let parts: Vec<Option<&[u8]>> = parts.iter().map(|p| Some(p.as_slice())).collect();
        let type_name = std::any::type_name::<DirectoryCut>();
        let mut read = Vec::new();
        for p in 0..3 {
            let bytes = combine(type_name, &parts, share(p, 3)).unwrap().unwrap();
            let combined = DirectoryCut::from_bytes(&bytes).unwrap();
            assert!(
                combined
                    .ranges
                    .iter()
                    .all(|r| share(p, 3).unwrap().reads(r.name.as_encoded_bytes()))
            );
            assert_eq!(combined.ranges.len(), combined.queue.len());
            read.extend(combined.ranges.into_iter().map(|r| r.name));
        }
        read.sort();
        assert_eq!(
            read,
            names.map(std::ffi::OsString::from),
            "each file read once, by one process"
        );
        let alone = DirectoryCut::from_bytes(&combine(type_name, &parts, None).unwrap().unwrap()).unwrap();
        assert_eq!(alone.ranges.len(), 5);
    }

    #[test]
    fn other_positions_recorded_by_several_processes_are_refused() {
        let one = 7u64.to_bytes().unwrap();
        let parts = [Some(one.as_slice()), Some(one.as_slice())];
        let err = combine("u64", &parts, share(0, 2)).unwrap_err();
        assert_eq!(
            err,
            "its positions (`u64`) were recorded by 2 processes and are read by 2: only a directory source's and a \
             Kafka stream's positions combine across processes"
        );
        // Process 0's block ranges (a receiver's), whoever reads them.
        let range = BlockRange { first: 3, end: 5 }.to_bytes().unwrap();
        let type_name = std::any::type_name::<BlockRange>();
        let read = combine(type_name, &[Some(range.as_slice()), None], share(2, 3)).unwrap();
        assert_eq!(read, Some(range.clone()));
        assert_eq!(
            combine(type_name, &[Some(range.as_slice()), None], None).unwrap(),
            Some(range)
        );
        // One process's record read by one process is given as it is.
        assert_eq!(combine("u64", &parts[..1], None).unwrap(), Some(one.clone()));
        assert!(!combines("u64") && combines(std::any::type_name::<DirectoryCut>()));
    }
}
