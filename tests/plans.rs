//! Snapshots of `explain()`: the stage plans of the word count example and of
//! a few test jobs, fused and unfused. A change in how jobs are cut into
//! stages shows up here as a diff to review (`INSTA_UPDATE=always cargo test
//! --test plans` rewrites the snapshots; read them before committing).

#[macro_use]
mod common;

#[allow(dead_code)]
#[path = "../examples/custom_receiver.rs"]
mod custom_receiver;
#[allow(dead_code)]
#[path = "../examples/network_word_count.rs"]
mod network_word_count;
#[allow(dead_code)]
#[path = "../examples/stateful_word_count.rs"]
mod stateful_word_count;
#[allow(dead_code)]
#[path = "../examples/text_file_word_count.rs"]
mod text_file_word_count;
#[allow(dead_code)]
#[path = "../examples/windowed_word_count.rs"]
mod windowed_word_count;
/// The examples' jobs themselves, not copies: their plans name the examples' lines.
#[allow(dead_code)]
#[path = "../examples/word_count.rs"]
mod word_count;

jobs! {
    pub job Branch {
        batch_interval = 500ms;
        input lines: String;
        let words = lines
            .flat_map(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|word| !word.is_empty());
        output counts: (String, u64) = words.map(|w| (w, 1)).reduce_by_key(|a, b| a + b, 2);
        output lengths: usize = words.map(|w| w.len());
        words.print(3);
    }

    pub job Join {
        batch_interval = 1s;
        input orders: (u32, f64);
        input users: (u32, String);
        output totals: (String, f64) = orders
            .filter(|(_, amount)| *amount > 0.0)
            .reduce_by_key(|a, b| a + b)
            .join(users.map_values(|name| name.to_uppercase()))
            .map(|(_, (total, name))| (name, total));
    }
}

#[test]
fn windowed_word_count_example() {
    insta::assert_snapshot!(windowed_word_count::WindowedWordCount::explain());
}

#[test]
fn stateful_word_count_example() {
    insta::assert_snapshot!(stateful_word_count::StatefulWordCount::explain());
}

#[test]
fn network_word_count_example() {
    insta::assert_snapshot!(network_word_count::NetworkWordCount::explain());
}

#[test]
fn text_file_word_count_example() {
    insta::assert_snapshot!(text_file_word_count::HdfsWordCount::explain());
}

#[test]
fn custom_receiver_example() {
    insta::assert_snapshot!(custom_receiver::CustomReceiverWordCount::explain());
}

#[test]
fn word_count_example() {
    insta::assert_snapshot!(word_count::WordCount::explain());
}

#[test]
fn branch_fused() {
    insta::assert_snapshot!(fused::Branch::explain());
}

#[test]
fn branch_unfused() {
    insta::assert_snapshot!(unfused::Branch::explain());
}

#[test]
fn join_fused() {
    insta::assert_snapshot!(fused::Join::explain());
}

#[test]
fn join_unfused() {
    insta::assert_snapshot!(unfused::Join::explain());
}
