//! `lthnet split` (not implemented yet).

/// Arguments of `lthnet split`.
#[derive(clap::Args, Debug)]
pub struct SplitArgs {}

/// Runs `lthnet split`.
pub fn run(_args: SplitArgs) -> anyhow::Result<()> {
    anyhow::bail!("`lthnet split` is not implemented yet")
}
