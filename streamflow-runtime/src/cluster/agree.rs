//! The processes of a cluster agree on what they run before they run it:
//! the same process list when they connect, the same job (its name, plan,
//! partition count and batch interval) when a job is built on the mesh. A
//! difference fails every process with an error naming it, where it would
//! otherwise misroute records or wait for an exchange that never comes.

use super::config::ClusterError;
use super::mesh::{Mesh, Record};
use crate::Plan;

/// The partition (and task) of an agreement's records: no exchange or share
/// has it, so a process in another step fails instead of misreading it.
const AGREE: u64 = u64::MAX - 1;

/// What every process must have the same of, one field per line of the
/// error that names a difference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fingerprint {
    /// What is agreed on ("the mesh", "job `Words`"), for the error.
    pub what: String,
    /// `(name, value)` pairs, compared one by one.
    pub fields: Vec<(String, String)>,
}

impl Fingerprint {
    /// The process list of a mesh: its count and every address.
    pub(crate) fn of_mesh(addresses: &[String]) -> Fingerprint {
        Fingerprint {
            what: "the mesh".into(),
            fields: vec![
                ("processes".into(), addresses.len().to_string()),
                ("addresses".into(), format!("{addresses:?}")),
            ],
        }
    }

    /// A job: its name, batch interval, partition count, the number of
    /// processes and its plan (stages, operators and ports, as a hash of
    /// their `Debug` form: the same binary gives the same).
    pub(crate) fn of_job(plan: &Plan, partitions: usize, processes: usize) -> Fingerprint {
        Fingerprint {
            what: format!("job `{}`", plan.job),
            fields: vec![
                ("job".into(), plan.job.to_owned()),
                ("batch interval".into(), format!("{} ms", plan.batch_interval_ms)),
                ("partitions".into(), partitions.to_string()),
                ("processes".into(), processes.to_string()),
                ("plan".into(), format!("{:016x}", fnv1a(format!("{plan:?}").as_bytes()))),
            ],
        }
    }

    /// The first difference with another process's fingerprint, as a
    /// sentence, or `None` when they are the same.
    fn difference(&self, me: usize, other: &Fingerprint, process: usize) -> Option<String> {
        if self == other {
            return None;
        }
        let differs = self
            .fields
            .iter()
            .zip(&other.fields)
            .find(|((name, mine), (other_name, theirs))| name != other_name || mine != theirs);
        let detail = match differs {
            Some(((name, mine), (_, theirs))) => {
                format!("{name} is {theirs} on process {process} but {mine} on process {me}")
            }
            None => format!(
                "process {process} agrees on {} but this process (process {me}) on {}",
                other.what, self.what
            ),
        };
        Some(format!(
            "the processes do not run the same {}: {detail}; every process must run the same binary with the same settings",
            self.what
        ))
    }
}

impl Mesh {
    /// [`agree`](Self::agree) on the process list (`Mesh::connect` calls it;
    /// defined here so that `mesh.rs` needs nothing of this module).
    pub(crate) fn agree_on_addresses(&self, addresses: &[String]) -> Result<(), ClusterError> {
        self.agree(&Fingerprint::of_mesh(addresses))
    }

    /// Every process sends `mine` to every other and compares: an error
    /// naming the first difference if any process's fingerprint is not the
    /// same (every process finds it, since every one compares with all).
    /// One round of the mesh, so every process must call it in the same step;
    /// a process that does not answer within the answer timeout fails it
    /// with an error naming that process.
    pub(crate) fn agree(&self, mine: &Fingerprint) -> Result<(), ClusterError> {
        let bytes =
            postcard::to_allocvec(mine).map_err(|e| ClusterError::Lost(format!("cannot encode a fingerprint: {e}")))?;
        let me = self.process();
        let records = (0..self.processes())
            .filter(|&p| p != me)
            .map(|p| Record {
                dest: p as u64,
                partition: AGREE,
                source: me as u64,
                task: (AGREE, AGREE),
                bytes: bytes.clone(),
            })
            .collect();
        // Bounded: a process that connected and then never answers must not
        // hang the others.
        let mut received = self.round_within(records, Some(self.answer_timeout()))?;
        received.sort_by_key(|record| record.source);
        for record in received {
            let process = record.source as usize;
            if record.partition != AGREE {
                return Err(ClusterError::Disagree(format!(
                    "process {process} was in another step of the job (an exchange) where this process (process {me}) checks {}: the processes do not run the same program",
                    mine.what
                )));
            }
            let theirs: Fingerprint = postcard::from_bytes(&record.bytes)
                .map_err(|e| ClusterError::Lost(format!("cannot decode process {process}'s fingerprint: {e}")))?;
            if let Some(difference) = mine.difference(me, &theirs, process) {
                return Err(ClusterError::Disagree(difference));
            }
        }
        Ok(())
    }
}

/// FNV-1a, 64 bits: a fixed hash, the same in every process and build.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
