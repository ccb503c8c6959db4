//! Cutting bytes into text lines, for the socket and file sources: lines may
//! arrive split across reads, end in `\n` or `\r\n`, and be invalid UTF-8
//! (rejected one by one, so the rest of the stream goes on). A line longer
//! than the limit is skipped or split as [`LongLines`] says, never grown
//! without bound; a partial line is a line only at the end of its stream.

/// What a line source does with a line longer than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongLines {
    /// Skips it (its bytes are read and dropped as they come, never held),
    /// counting it in [`InputStats::rejected`](super::InputStats::rejected)
    /// and reporting it.
    #[default]
    Skip,
    /// Splits it into records of at most the limit (cut between UTF-8
    /// characters), reporting it.
    Split,
}

/// The options of a line source (see
/// [`socket_text_stream_with`](super::socket_text_stream_with)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOptions {
    /// The longest line, in bytes without its line end. Default 1 MiB.
    pub max_line_bytes: usize,
    /// What happens to a longer line. Default: skipped.
    pub long_lines: LongLines,
}

impl Default for LineOptions {
    fn default() -> Self {
        LineOptions {
            max_line_bytes: 1 << 20,
            long_lines: LongLines::Skip,
        }
    }
}

/// Reassembles lines from chunks of bytes.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
    options: LineOptions,
    /// Bytes of the overlong line being skipped, while skipping one.
    skipping: Option<usize>,
    /// Whether the line being built was split already (reported once).
    splitting: bool,
}

#[cfg(test)]
impl Default for LineSplitter {
    /// No limit.
    fn default() -> Self {
        LineSplitter::new(LineOptions {
            max_line_bytes: usize::MAX,
            long_lines: LongLines::Skip,
        })
    }
}

/// The lines found in some bytes: the valid ones, a description of each line
/// that was rejected (not UTF-8, too long, unterminated), and of each line
/// that was split.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pub(crate) lines: Vec<String>,
    pub(crate) rejected: Vec<String>,
    pub(crate) split: Vec<String>,
}

impl LineSplitter {
    pub(crate) fn new(options: LineOptions) -> Self {
        LineSplitter {
            partial: Vec::new(),
            options: LineOptions {
                max_line_bytes: options.max_line_bytes.max(1),
                ..options
            },
            skipping: None,
            splitting: false,
        }
    }

    /// Adds `bytes`; every line completed by them goes to `out`.
    pub(crate) fn push(&mut self, mut bytes: &[u8], out: &mut Lines) {
        let max = self.options.max_line_bytes;
        loop {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let segment = &bytes[..newline.unwrap_or(bytes.len())];
            if let Some(skipped) = &mut self.skipping {
                *skipped += segment.len();
                if newline.is_some() {
                    out.rejected.push(too_long(*skipped, max));
                    self.skipping = None;
                }
            } else if self.partial.len() + content_len(segment, newline.is_some()) > max {
                self.overflow(segment, newline.is_some(), out);
            } else if newline.is_some() && self.partial.is_empty() {
                decode(segment, out);
            } else {
                self.partial.extend_from_slice(segment);
                if newline.is_some() {
                    self.splitting = false;
                    decode_owned(std::mem::take(&mut self.partial), out);
                }
            }
            match newline {
                Some(end) => bytes = &bytes[end + 1..],
                None => return,
            }
        }
    }

    /// The line being built would pass the limit with `segment`.
    fn overflow(&mut self, segment: &[u8], ends: bool, out: &mut Lines) {
        let max = self.options.max_line_bytes;
        match self.options.long_lines {
            LongLines::Skip => {
                let skipped = self.partial.len() + segment.len();
                // Freed now: an endless line must not be held.
                self.partial = Vec::new();
                if ends {
                    out.rejected.push(too_long(skipped, max));
                } else {
                    self.skipping = Some(skipped);
                }
            }
            LongLines::Split => {
                self.partial.extend_from_slice(segment);
                if ends && self.partial.last() == Some(&b'\r') {
                    self.partial.pop();
                }
                while self.partial.len() > max {
                    let cut = char_boundary(&self.partial, max);
                    let rest = self.partial.split_off(cut);
                    let piece = std::mem::replace(&mut self.partial, rest);
                    decode_raw(&piece, out);
                }
                if !std::mem::replace(&mut self.splitting, !ends) {
                    out.split.push(format!(
                        "a line longer than {max} bytes was split into records of at most {max} bytes"
                    ));
                }
                if ends {
                    let line = std::mem::take(&mut self.partial);
                    decode_raw(&line, out);
                }
            }
        }
    }

    /// Ends the stream. At its end (`end_of_stream`: the peer closed it, a
    /// file ended) a last line without a newline is still a line, as in
    /// Spark's readers. Otherwise (a stop, a lost connection) it is an
    /// unterminated line: dropped, and said so in `out.rejected`.
    pub(crate) fn finish(&mut self, end_of_stream: bool, out: &mut Lines) {
        let max = self.options.max_line_bytes;
        if let Some(skipped) = self.skipping.take() {
            out.rejected.push(too_long(skipped, max));
        }
        self.splitting = false;
        if self.partial.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.partial);
        if end_of_stream {
            decode(&line, out);
        } else {
            out.rejected.push(format!(
                "an unterminated line of {} bytes was dropped: the stream was stopped or lost before its newline",
                line.len()
            ));
        }
    }

    /// Whether a partial line is waiting for its end.
    #[cfg(test)]
    pub(crate) fn has_partial(&self) -> bool {
        !self.partial.is_empty()
    }
}

/// The length a segment adds to a line (its `\r` before a newline excluded).
fn content_len(segment: &[u8], ends: bool) -> usize {
    if ends && segment.last() == Some(&b'\r') {
        segment.len() - 1
    } else {
        segment.len()
    }
}

fn too_long(bytes: usize, max: usize) -> String {
    format!("a line of {bytes} bytes is longer than the limit of {max} bytes; line skipped")
}

/// The largest cut at most `max` that does not split a UTF-8 character
/// (`max` itself when the bytes there are not UTF-8 anyway).
fn char_boundary(bytes: &[u8], max: usize) -> usize {
    let mut cut = max;
    // A continuation byte (0b10xx_xxxx) starts no character; a character is
    // at most 4 bytes.
    while cut > max.saturating_sub(3) && cut > 0 && bytes.get(cut).is_some_and(|b| b & 0xC0 == 0x80) {
        cut -= 1;
    }
    if cut == 0 { max } else { cut }
}

/// Decodes a line assembled across reads without copying it (a long line
/// is held once, not twice).
fn decode_owned(mut line: Vec<u8>, out: &mut Lines) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    match String::from_utf8(line) {
        Ok(mut text) => {
            // Grown by doubling: give back what the line does not use.
            if text.capacity() > text.len() + text.len() / 4 + 64 {
                text.shrink_to_fit();
            }
            out.lines.push(text);
        }
        Err(e) => decode_raw(e.as_bytes(), out),
    }
}

fn decode(line: &[u8], out: &mut Lines) {
    decode_raw(line.strip_suffix(b"\r").unwrap_or(line), out);
}

fn decode_raw(line: &[u8], out: &mut Lines) {
    match std::str::from_utf8(line) {
        Ok(text) => out.lines.push(text.to_owned()),
        Err(e) => out.rejected.push(format!(
            "a line of {} bytes is not UTF-8 (invalid byte at offset {}); line skipped",
            line.len(),
            e.valid_up_to()
        )),
    }
}

/// All lines of a whole buffer: its end is the end of its stream.
#[cfg(test)]
pub(crate) fn split_all(bytes: &[u8]) -> Lines {
    let mut out = Lines::default();
    let mut splitter = LineSplitter::default();
    splitter.push(bytes, &mut out);
    splitter.finish(true, &mut out);
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
        s.finish(true, &mut out);
        assert_eq!(out.lines.last().map(String::as_str), Some("tail"));
        assert!(!s.has_partial());
    }

    #[test]
    fn an_unterminated_line_is_a_line_only_at_the_end_of_its_stream() {
        let mut s = LineSplitter::default();
        let mut out = Lines::default();
        s.push(b"abc\nde", &mut out);
        s.finish(false, &mut out);
        assert_eq!(out.lines, ["abc"]);
        assert_eq!(
            out.rejected,
            ["an unterminated line of 2 bytes was dropped: the stream was stopped or lost before its newline"]
        );
        assert!(!s.has_partial());
    }

    #[test]
    fn invalid_lines_are_rejected_alone() {
        let out = split_all(b"ok\n\xff\xfe bad\nalso ok");
        assert_eq!(out.lines, vec!["ok", "also ok"]);
        assert_eq!(out.rejected.len(), 1);
        assert!(out.rejected[0].contains("not UTF-8"), "{:?}", out.rejected);
    }

    #[test]
    fn a_long_line_is_skipped_without_being_held() {
        let mut s = LineSplitter::new(LineOptions {
            max_line_bytes: 4,
            long_lines: LongLines::Skip,
        });
        let mut out = Lines::default();
        s.push(b"abcd\r\nabc", &mut out);
        s.push(b"defgh", &mut out);
        // Over the limit: nothing of it is kept while its end is awaited.
        assert!(!s.has_partial());
        s.push(b"ij\nok\nabcde\n", &mut out);
        assert_eq!(out.lines, ["abcd", "ok"]);
        assert_eq!(
            out.rejected,
            [
                "a line of 10 bytes is longer than the limit of 4 bytes; line skipped",
                "a line of 5 bytes is longer than the limit of 4 bytes; line skipped"
            ]
        );
        // A long line cut by the end of the stream is still reported.
        s.push(b"0123456", &mut out);
        s.finish(true, &mut out);
        assert_eq!(out.rejected.len(), 3);
    }

    #[test]
    fn a_long_line_can_be_split_between_characters() {
        let mut s = LineSplitter::new(LineOptions {
            max_line_bytes: 4,
            long_lines: LongLines::Split,
        });
        let mut out = Lines::default();
        s.push("abcdéfgh".as_bytes(), &mut out);
        s.push(b"ij\r\nxy\n", &mut out);
        assert_eq!(out.lines, ["abcd", "éfg", "hij", "xy"]);
        assert_eq!(out.split.len(), 1);
        assert!(out.rejected.is_empty());
    }
}
