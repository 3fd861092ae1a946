//! `cargo run --release -p weir-casestudies --example packet_level -- traces/data/default.pcap`
use weir_casestudies::packet_level;

fn main() -> std::process::ExitCode {
    let code = weir::app::main::<packet_level::app::App>();
    let (packets, bytes) = packet_level::take_counts();
    println!("DNS (udp/53) and HTTPS (tcp/443) traffic: {packets} packets, {bytes} frame bytes");
    code
}
