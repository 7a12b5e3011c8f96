//! `lthnet search` (not implemented yet).

/// Arguments of `lthnet search`.
#[derive(clap::Args, Debug)]
pub struct SearchArgs {}

/// Runs `lthnet search`.
pub fn run(_args: SearchArgs) -> anyhow::Result<()> {
    anyhow::bail!("`lthnet search` is not implemented yet")
}
