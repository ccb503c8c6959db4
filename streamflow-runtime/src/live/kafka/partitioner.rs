//! Where a sink puts a record: Kafka's default placement, so that records
//! of a key land where Java producers put them.

/// Chooses a record's partition from its key, its index in the batch, and
/// the topic's partition count.
pub type Partitioner = fn(key: Option<&[u8]>, index: usize, partitions: i32) -> i32;

/// Kafka's default: the murmur2 hash of the key, as the Java client computes
/// it; records without a key go round-robin by their index in the batch
/// (deterministic, so a batch written again lands where it landed).
///
/// ```
/// use streamflow::live::kafka::default_partitioner;
///
/// let partition = default_partitioner(Some(b"user-17"), 0, 3);
/// assert!((0..3).contains(&partition));
/// assert_eq!(default_partitioner(Some(b"user-17"), 9, 3), partition); // the key decides
/// assert_eq!(default_partitioner(None, 4, 3), 1); // no key: round-robin
/// ```
pub fn default_partitioner(key: Option<&[u8]>, index: usize, partitions: i32) -> i32 {
    let partitions = partitions.max(1);
    match key {
        Some(key) => ((murmur2(key) & 0x7fff_ffff) % partitions as u32) as i32,
        None => (index % partitions as usize) as i32,
    }
}

/// MurmurHash2, 32 bits, with the seed Kafka uses.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const SEED: u32 = 0x9747_b28c;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate() {
            h ^= (*byte as u32) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_gives_the_java_clients_hashes() {
        // Values of org.apache.kafka.common.utils.Utils.murmur2 (as i32).
        assert_eq!(murmur2(b"21") as i32, -973_932_308);
        assert_eq!(murmur2(b"foobar") as i32, -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1_486_304_829);
        assert_eq!(murmur2(b"abc") as i32, 479_470_107);
    }
}
