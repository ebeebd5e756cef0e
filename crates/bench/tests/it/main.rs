//! Tests of the real `drawbridge-bench` binary, one test binary for all of them.

mod figures;
