//! `cargo run --release -p weir-casestudies --example tls_sni_logger -- traces/data/default.pcap`
fn main() -> std::process::ExitCode {
    weir::app::main::<weir_casestudies::tls_sni_logger::app::App>()
}
