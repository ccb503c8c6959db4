//! Cutting bytes into text lines, for the socket and file sources: lines may
//! arrive split across reads, end in `\n` or `\r\n`, and be invalid UTF-8
//! (rejected one by one, so the rest of the stream goes on).

/// Reassembles lines from chunks of bytes.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
}

/// The lines found in some bytes: the valid ones, and a description of each
/// line that was not UTF-8.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pub(crate) lines: Vec<String>,
    pub(crate) rejected: Vec<String>,
}

impl LineSplitter {
    /// Adds `bytes`; every line completed by them goes to `out`.
    pub(crate) fn push(&mut self, mut bytes: &[u8], out: &mut Lines) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                decode(&bytes[..end], out);
            } else {
                self.partial.extend_from_slice(&bytes[..end]);
                let line = std::mem::take(&mut self.partial);
                decode(&line, out);
            }
            bytes = &bytes[end + 1..];
        }
        self.partial.extend_from_slice(bytes);
    }

    /// Ends the stream: a last line without a newline is still a line (as in
    /// Spark's readers), so nothing received is dropped.
    pub(crate) fn finish(&mut self, out: &mut Lines) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            decode(&line, out);
        }
    }

    /// Whether a partial line is waiting for its end.
    #[cfg(test)]
    pub(crate) fn has_partial(&self) -> bool {
        !self.partial.is_empty()
    }
}

fn decode(line: &[u8], out: &mut Lines) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match std::str::from_utf8(line) {
        Ok(text) => out.lines.push(text.to_owned()),
        Err(e) => out.rejected.push(format!(
            "a line of {} bytes is not UTF-8 (invalid byte at offset {}); line skipped",
            line.len(),
            e.valid_up_to()
        )),
    }
}

/// All lines of a whole buffer (a file).
pub(crate) fn split_all(bytes: &[u8]) -> Lines {
    let mut out = Lines::default();
    let mut splitter = LineSplitter::default();
    splitter.push(bytes, &mut out);
    splitter.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_are_reassembled() {
        let mut s = LineSplitter::default();
        let mut out = Lines::default();
        s.push(b"hel", &mut out);
        s.push(b"lo wo", &mut out);
        s.push(b"rld\r\nsecond\nthi", &mut out);
        assert!(s.has_partial());
        s.push(b"rd\n\n", &mut out);
        assert_eq!(out.lines, vec!["hello world", "second", "third", ""]);
        s.push(b"tail", &mut out);
        s.finish(&mut out);
        assert_eq!(out.lines.last().map(String::as_str), Some("tail"));
        assert!(!s.has_partial());
    }

    #[test]
    fn invalid_lines_are_rejected_alone() {
        let out = split_all(b"ok\n\xff\xfe bad\nalso ok");
        assert_eq!(out.lines, vec!["ok", "also ok"]);
        assert_eq!(out.rejected.len(), 1);
        assert!(out.rejected[0].contains("not UTF-8"), "{:?}", out.rejected);
    }
}
