//! The `lthnet` command-line tool: long-tail splits, training, encoding, evaluation and search.
//!
//! Each subcommand lives in its own module with a `clap::Args` struct and a `run` function.

mod allocator;
mod encode;
mod eval;
mod search;
mod split;
mod train;

use clap::{Parser, Subcommand};

/// Long-tail hashing: splits, training, encoding, evaluation and Hamming search.
#[derive(Parser, Debug)]
#[command(name = "lthnet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build a long-tail train/query/database split and write it as list files.
    Split(split::SplitArgs),
    /// Evaluate binary codes: MAP@all, tie-aware MAP, P@N, P/R within Hamming radius 2.
    Eval(eval::EvalArgs),
    /// Exhaustive Hamming top-k search; writes neighbour ids and distances as .npy.
    Search(search::SearchArgs),
    /// Train an LTHNet model from a JSON run configuration.
    Train(train::TrainArgs),
    /// Re-encode the query and database splits of a trained run from its final checkpoint.
    Encode(encode::EncodeArgs),
}

fn main() -> anyhow::Result<()> {
    allocator::keep_freed_pages();
    lthnet::backend::init_cpu_thread_pool(None)?;
    let cli = Cli::parse();
    match cli.command {
        Command::Split(args) => split::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Search(args) => search::run(args),
        Command::Train(args) => train::run(args),
        Command::Encode(args) => encode::run(args),
    }
}
