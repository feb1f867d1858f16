//! The per-container monitor program (see the skiff-monitor crate). Kept apart from `skiff` so
//! the process that lives as long as each container is small.
fn main() {
    std::process::exit(skiff_monitor::main());
}
