//! skiff's Quadlet generator: systemd runs it (as skiff-system-generator or
//! skiff-user-generator) to turn Quadlet files into services; see skiff_systemd::quadlet.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    std::process::exit(skiff_systemd::quadlet::generator_main(&args));
}
