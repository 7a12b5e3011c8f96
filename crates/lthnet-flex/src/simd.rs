//! Run-time selection of an AVX2 build of a kernel's inner loop.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2), so its loops use 4-wide
//! vectors; flex's own element-wise kernels pick AVX2 or AVX-512 at run time. [`with_avx2!`]
//! defines a function twice, once with `#[target_feature(enable = "avx2")]`, and calls that
//! build when the CPU has AVX2. Rust never contracts `a * b + c` into an FMA, so both builds
//! give the same bits.

/// `with_avx2! { fn name(args) -> ret { body } }`: `name` runs `body` compiled for AVX2 when the
/// CPU supports it, else the portable build. Arguments must be concrete types (no generics).
macro_rules! with_avx2 {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? $body
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked on the line above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body
        }
    };
}

pub(crate) use with_avx2;
