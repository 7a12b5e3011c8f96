//! A training run killed with SIGKILL at random points and resumed from its checkpoints
//! produces bit-identical final codes to an uninterrupted run (CPU backend, fixed seed).
//!
//! The parent test re-runs this test binary as a child process (`LTHNET_RESUME_CHILD=<dir>`),
//! kills it after a random delay, and repeats until the child finishes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use burn::backend::{Autodiff, Flex};
use burn::module::Module;
use lthnet_core::train::{
    LossKind, ModelSelection, RefreshFeatures, RunOptions, TrainConfig, Trained, encode_relaxed,
    init_seed, refresh_memory, train,
};
use lthnet_core::{FeatureSource, LthNetHead, LthNetHeadConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type B = Autodiff<Flex>;

static INIT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn data() -> FeatureSource {
    // Three Gaussian blobs in 8-d, long-tailed 60/25/8.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (class, n) in [(0u32, 180), (1, 75), (2, 24)] {
        for _ in 0..n {
            for j in 0..8 {
                let c = if j % 3 == class as usize { 2.0 } else { 0.0 };
                x.push(c + rng.random_range(-1.0f32..1.0));
            }
            y.push(class);
        }
    }
    FeatureSource::new(x, 8, y)
}

fn config() -> TrainConfig {
    config_with(LossKind::CrossEntropy { beta: 0.0 })
}

fn idcwh(centre_lr_scale: f64) -> LossKind {
    LossKind::Idcwh {
        inv_sigma_sq: 1.0,
        gamma: 0.1,
        beta: 0.01,
        centre_lr_scale,
    }
}

fn config_with(loss: LossKind) -> TrainConfig {
    TrainConfig::new(
        LthNetHeadConfig::new(8, 3, 16)
            .with_d_feature(24)
            .with_num_prototypes(2),
    )
    .with_num_epochs(30)
    .with_batch_size(4)
    .with_learning_rate(1e-3)
    .with_loss(loss)
    .with_seed(5)
}

/// Train (resuming from `dir` when given) and return the codes of the training items.
fn run(dir: Option<&Path>, max_epochs: Option<usize>) -> Option<Vec<f32>> {
    run_with(config(), dir, max_epochs)
}

fn run_with(cfg: TrainConfig, dir: Option<&Path>, max_epochs: Option<usize>) -> Option<Vec<f32>> {
    let (codes, _) = trained_codes(cfg, dir, max_epochs);
    codes
}

/// Train and return the codes of the training items (when finished) and the trained result.
fn trained_codes(
    cfg: TrainConfig,
    dir: Option<&Path>,
    max_epochs: Option<usize>,
) -> (Option<Vec<f32>>, Trained<LthNetHead<Flex>, Flex>) {
    let device = Default::default();
    // Burn's parameter RNG is process-global: seed + init under a lock, since tests run in
    // parallel threads.
    let model = {
        let _guard = INIT_LOCK.lock().unwrap();
        init_seed::<B>(&device, cfg.seed);
        // Burn initialises parameters lazily, on first use: force it inside the lock.
        let model = cfg.head.init::<B>(&device);
        let record = model.clone().into_record();
        model.load_record(record)
    };
    let source = data();
    let options = RunOptions {
        run_dir: dir.map(Path::to_path_buf),
        resume: true,
        progress: false,
        max_epochs_this_call: max_epochs,
    };
    let trained = train::<B, _, _>(&cfg, model, &source, &device, &options).expect("training");
    let codes = trained.finished.then(|| {
        encode_relaxed(
            &trained.model,
            trained.memory.clone(),
            &source,
            32,
            &device,
            false,
        )
    });
    (codes, trained)
}

/// Run `cfg` in calls of `chunk` epochs, each resuming from the last checkpoint, until it
/// finishes; return the final codes.
fn resumed_in_chunks(cfg: &TrainConfig, chunk: usize, max_calls: usize) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    (0..max_calls)
        .find_map(|_| run_with(cfg.clone(), Some(dir.path()), Some(chunk)))
        .expect("finished after resumes")
}

/// Little-endian `f32` values of a file (the child's codes, a checkpoint's `memory.f32`).
fn read_f32s(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// `cfg` resumed in chunks of 3 epochs matches an uninterrupted run bit for bit, and its codes
/// differ from those of `other` (so the option under test does something).
fn assert_resumes_and_differs(cfg: &TrainConfig, other: TrainConfig, what: &str) {
    let reference = run_with(cfg.clone(), None, None).expect("finished");
    assert!(reference.iter().all(|v| v.is_finite()), "{what}");
    let codes = resumed_in_chunks(cfg, 3, 10);
    assert_bit_identical(
        &codes,
        &reference,
        &format!("{what}: run resumed from checkpoints differs"),
    );
    let other = run_with(other, None, None).expect("finished");
    assert!(
        other
            .iter()
            .zip(&reference)
            .any(|(a, b)| a.to_bits() != b.to_bits()),
        "{what}: changed nothing"
    );
}

fn assert_bit_identical(codes: &[f32], reference: &[f32], what: &str) {
    assert_eq!(codes.len(), reference.len(), "{what}");
    assert!(
        codes
            .iter()
            .zip(reference)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{what}"
    );
}

#[test]
fn resume_child() {
    // Only does work when spawned by `killed_and_resumed_runs_are_bit_identical`.
    let Ok(dir) = std::env::var("LTHNET_RESUME_CHILD") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let codes = run(Some(&dir), None).expect("finished");
    let bytes: Vec<u8> = codes.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("codes.bin"), bytes).unwrap();
}

#[test]
fn stepwise_resume_is_bit_identical() {
    let reference = run(None, None).expect("finished");
    let codes = resumed_in_chunks(&config(), 5, 20);
    assert_bit_identical(&codes, &reference, "stepwise resumed run differs");
}

/// Validation-based selection: every epoch records a validation MAP, the kept model is the best
/// epoch's, and a resumed run (the best model travels in the checkpoint) matches an
/// uninterrupted one bit for bit.
#[test]
fn best_validation_selection_resumes_bit_identically() {
    let cfg = config()
        .with_num_epochs(8)
        .with_selection(ModelSelection::BestValidationMap { fraction: 0.2 });
    let (reference, trained) = trained_codes(cfg.clone(), None, None);
    let reference = reference.expect("finished");
    let (selected, history) = (trained.selected_epoch, trained.history);
    let maps: Vec<f64> = history.iter().map(|r| r.validation_map.unwrap()).collect();
    assert_eq!(maps.len(), 8);
    let best = maps.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(
        maps[selected - 1],
        best,
        "selected epoch {selected} of {maps:?}"
    );
    assert_eq!(maps.iter().position(|&m| m == best), Some(selected - 1));
    let codes = resumed_in_chunks(&cfg, 3, 10);
    assert_bit_identical(
        &codes,
        &reference,
        "resumed run with validation selection differs",
    );
}

/// IDCWH's learnable centres and their optimiser state travel in the checkpoint: a resumed run
/// matches an uninterrupted one bit for bit, and the centres do move (a run with frozen centres
/// ends elsewhere).
#[test]
fn idcwh_centres_are_learned_and_checkpointed() {
    assert_resumes_and_differs(
        &config_with(idcwh(0.5)).with_num_epochs(8),
        config_with(idcwh(0.0)).with_num_epochs(8),
        "IDCWH with learned centres (vs frozen centres)",
    );
}

/// `RefreshFeatures::TrainingPass`: the memory that the training steps' `v_direct` build travels
/// in the checkpoint, so a resumed run matches an uninterrupted one bit for bit; and the mode
/// does change training (its memories are not the eval pass's).
#[test]
fn training_pass_refresh_resumes_bit_identically() {
    assert_resumes_and_differs(
        &config()
            .with_num_epochs(8)
            .with_refresh_features(RefreshFeatures::TrainingPass),
        config().with_num_epochs(8),
        "training-pass refresh (vs the eval pass)",
    );
}

/// The rows collected during an epoch land on the right items: with a learning rate so small
/// that no parameter moves, the memory built from epoch 1's training steps (saved in the
/// checkpoint) equals the eval-pass memory of the same model.
#[test]
fn training_pass_memory_matches_the_eval_pass_when_nothing_moves() {
    let cfg = config()
        .with_num_epochs(4)
        .with_learning_rate(1e-30)
        .with_refresh_features(RefreshFeatures::TrainingPass);
    let dir = tempfile::tempdir().unwrap();
    let (_, trained) = trained_codes(cfg.clone(), Some(dir.path()), Some(1));
    assert!(!trained.finished);
    let ckpt = dir.path().join("checkpoints/epoch-0001");
    let saved = read_f32s(&ckpt.join("memory.f32"));
    let device = Default::default();
    let eval = refresh_memory(&trained.model, &data(), &cfg, &device, false).unwrap();
    let eval: Vec<f32> = eval.memory.into_data().into_vec::<f32>().unwrap();
    assert_eq!(saved.len(), eval.len());
    assert_eq!(saved.len(), 3 * 3 * 24, "(k+1)·C × d_feature");
    let worst = saved
        .iter()
        .zip(&eval)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "training-pass memory differs by {worst}");
}

#[test]
fn killed_and_resumed_runs_are_bit_identical() {
    let started = std::time::Instant::now();
    let reference = run(None, None).expect("finished");
    // Kill points are drawn inside the span of a whole run, so most land mid-training.
    let span_ms = (started.elapsed().as_millis() as u64).max(50);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut kills = 0;
    for attempt in 0..200 {
        let mut child = Command::new(&exe)
            .args(["--exact", "resume_child", "--nocapture", "--test-threads=1"])
            .env("LTHNET_RESUME_CHILD", dir.path())
            .spawn()
            .unwrap();
        // First attempts are killed early and at random points; later ones get more time.
        let wait_ms = if attempt < 16 {
            rng.random_range(span_ms / 20..span_ms / 4)
        } else {
            60_000
        };
        let deadline = std::time::Instant::now() + Duration::from_millis(wait_ms);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        match status {
            Some(s) => {
                assert!(s.success(), "child failed: {s}");
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL on Unix
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    let codes = read_f32s(&dir.path().join("codes.bin"));
    assert!(kills >= 3, "the child was interrupted only {kills} times");
    assert_eq!(codes.len(), reference.len());
    assert!(
        codes
            .iter()
            .zip(&reference)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "resumed codes differ after {kills} kills"
    );
}
