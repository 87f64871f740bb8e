//! Entry point of the `multigres-operator` binary.

fn main() {}
