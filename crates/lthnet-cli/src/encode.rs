//! `lthnet encode --run DIR`: re-encode the query and database splits of a finished run from its
//! final checkpoint (the memory is refreshed from the final model, as at the end of training),
//! writing the codes into `DIR`. An unfinished run is refused (resume it with `lthnet train
//! --resume`), so encoding never trains.

use std::path::PathBuf;

/// Arguments of `lthnet encode`.
#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// A run directory written by `lthnet train` (it holds `run.json` and `checkpoints/`).
    #[arg(long)]
    run: PathBuf,
    /// The backend that encodes.
    #[arg(long, value_enum, default_value_t = crate::train::BackendArg::Cpu)]
    backend: crate::train::BackendArg,
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
    let ckpts = args.run.join("checkpoints");
    let latest = std::fs::read_to_string(ckpts.join("LATEST")).map_err(|e| {
        anyhow::anyhow!(
            "{} has no checkpoint ({e}): train it first with `lthnet train`",
            args.run.display()
        )
    })?;
    let meta_path = ckpts.join(latest.trim()).join("meta.json");
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&meta_path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", meta_path.display()))?;
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(args.run.join("config.json"))?)?;
    let (done, total) = (meta["epochs_done"].as_u64(), config["num_epochs"].as_u64());
    anyhow::ensure!(
        done.is_some() && done == total,
        "{} is not finished ({} of {} epochs): continue it with `lthnet train --config {} \
         --resume`",
        args.run.display(),
        done.map_or("?".into(), |d| d.to_string()),
        total.map_or("?".into(), |t| t.to_string()),
        spec.display()
    );
    // Resuming a finished run trains nothing and re-encodes from the final checkpoint.
    crate::train::run_spec(&spec, true, args.backend, Some(&args.run))
}
