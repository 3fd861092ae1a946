//! `cargo run --release -p weir-casestudies --example long_lived -- traces/data/default.pcap`
fn main() -> std::process::ExitCode {
    weir::app::main::<weir_casestudies::long_lived::app::App>()
}
