//! `lthnet eval` (not implemented yet).

/// Arguments of `lthnet eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {}

/// Runs `lthnet eval`.
pub fn run(_args: EvalArgs) -> anyhow::Result<()> {
    anyhow::bail!("`lthnet eval` is not implemented yet")
}
