//! The global allocator of the examples and benches: mimalloc, set to keep the pages it frees.
//!
//! Burn's CPU backends allocate and free activation-sized buffers (tens of MB at batch 128)
//! every training step. With mimalloc's default purge delay (10 ms) those pages go back to the
//! OS and come back as page faults plus kernel zeroing: 181,000 faults and about a quarter of
//! the CPU time of a CifarNet `train_step` bench; with purging off, 460 (`docs/benchmarks.md`).
//! `MIMALLOC_PURGE_DELAY`, when set, still decides.

use std::ffi::c_int;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 2's `mi_option_e` (libmimalloc-sys names no constant).
const MI_OPTION_PURGE_DELAY: c_int = 15;
/// mimalloc's default purge delay (ms): checked before writing, so that a renumbered option
/// list in a future mimalloc is left alone instead of setting the wrong option.
const DEFAULT_PURGE_DELAY: std::ffi::c_long = 10;

/// Turn mimalloc's purging of freed pages off, unless `MIMALLOC_PURGE_DELAY` is set.
pub fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: reads and writes one integer option of mimalloc's option table, which mimalloc
    // allows at any time.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == DEFAULT_PURGE_DELAY {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}
