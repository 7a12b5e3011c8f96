//! lthnet-retrieval (work in progress).
