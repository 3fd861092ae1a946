//! `cargo run --release -p weir-casestudies --example video_resolution -- traces/data/default.pcap`
use weir_casestudies::video_resolution;

fn main() -> std::process::ExitCode {
    let code = weir::app::main::<video_resolution::app::App>();
    let n = video_resolution::take_estimates().len();
    let cached = video_resolution::dns_cache_len();
    println!("{n} video connections estimated; {cached} addresses in the video DNS cache");
    code
}
