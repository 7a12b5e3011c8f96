//! lthnet-loss (work in progress).
