//! One process's view of what a batch read on every process of a cluster:
//! the positions each process recorded for an input, combined, then cut
//! down to the share of the process reading them now (which may be one of
//! another number of processes than the ones that recorded them).
//!
//! Only the directory source's positions combine today (the only source
//! that splits between processes): its cut's ranges, listing and queue are
//! each per file, and a file belongs to exactly one process's share.

use crate::cluster::Share;
use crate::live::sources::{DirectoryCut, Positions};
use std::collections::HashSet;

/// Whether positions of the Rust type `type_name` combine across processes.
pub(crate) fn combines(type_name: &str) -> bool {
    type_name == std::any::type_name::<DirectoryCut>()
}

/// The positions an input of type `type_name` recorded for one batch on
/// every process (by process index; `None`: that cut failed), as the process
/// with `share` (`None`: the only one) reads them now. One part read by one
/// process is given as it is.
pub(crate) fn combine(type_name: &str, parts: &[Option<&[u8]>], share: Option<Share>) -> Result<Option<Vec<u8>>, String> {
    let alone = share.is_none_or(|s| s.processes == 1);
    if parts.len() == 1 && alone {
        return Ok(parts[0].map(<[u8]>::to_vec));
    }
    if !combines(type_name) {
        return Err(format!(
            "its positions (`{type_name}`) were recorded by {} processes and are read by {}: only a directory \
             source's positions combine across processes",
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
