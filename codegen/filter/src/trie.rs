//! Predicate tries (placeholder, filled in next).
