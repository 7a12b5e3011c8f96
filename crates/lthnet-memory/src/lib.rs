//! lthnet-memory (work in progress).
