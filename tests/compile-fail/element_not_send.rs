use std::rc::Rc;
use streamflow::prelude::*;

stream_job! {
    pub job Local {
        batch_interval = 1s;
        input lines: String;
        output shared: Rc<String> = lines.map(Rc::new);
    }
}

fn main() {}
