//! `cargo run --release -p weir-casestudies --example http_ua_logger -- traces/data/default.pcap`
fn main() -> std::process::ExitCode {
    weir::app::main::<weir_casestudies::http_ua_logger::app::App>()
}
