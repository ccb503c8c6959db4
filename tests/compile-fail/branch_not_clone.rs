use streamflow::prelude::*;

#[derive(Debug)]
pub struct Token(String);

stream_job! {
    pub job Branches {
        batch_interval = 1s;
        input lines: String;
        let tokens = lines.map(Token);
        output first: usize = tokens.map(|t| t.0.len());
        output second: u64 = tokens.count();
    }
}

fn main() {}
