//! `lthnet encode` (not implemented yet).

/// Arguments of `lthnet encode`.
#[derive(clap::Args, Debug)]
pub struct EncodeArgs {}

/// Runs `lthnet encode`.
pub fn run(_args: EncodeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`lthnet encode` is not implemented yet")
}
