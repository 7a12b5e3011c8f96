//! `lthnet train` (not implemented yet).

/// Arguments of `lthnet train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {}

/// Runs `lthnet train`.
pub fn run(_args: TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("`lthnet train` is not implemented yet")
}
