//! `lthnet encode --run DIR`: re-encode the query and database splits of a trained run from its
//! final checkpoint (the memory is refreshed from the final model, as at the end of training).

use std::path::PathBuf;

/// Arguments of `lthnet encode`.
#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// A run directory written by `lthnet train` (it holds `run.json` and `checkpoints/`).
    #[arg(long)]
    run: PathBuf,
}

/// Runs `lthnet encode`.
pub fn run(args: EncodeArgs) -> anyhow::Result<()> {
    let spec = args.run.join("run.json");
    anyhow::ensure!(
        spec.exists(),
        "{} not found: is {} a run directory written by `lthnet train`?",
        spec.display(),
        args.run.display()
    );
    // Resuming a finished run trains nothing and re-encodes from the final checkpoint.
    crate::train::run_spec(&spec, true)
}
