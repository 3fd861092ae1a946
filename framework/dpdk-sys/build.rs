//! Finds the system DPDK with pkg-config, generates bindings with bindgen and
//! compiles the C shim, but only with the `dpdk` feature: without it this
//! script does nothing, so the workspace builds on machines without DPDK.
//!
//! Version cfgs: `dpdk_major_N` for the major release (22 for 22.11) and
//! `dpdk_ge_22_11` / `dpdk_ge_23_11` when at least that release; the full
//! version string is `dpdk_sys::DPDK_VERSION`.

/// Releases that have a `dpdk_ge_*` cfg; extend as the code needs.
const RELEASES: &[(u32, u32)] = &[(21, 11), (22, 11), (23, 11), (24, 11)];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/wrapper.h");
    println!("cargo::rerun-if-changed=src/shim.h");
    println!("cargo::rerun-if-changed=src/shim.c");
    for (y, m) in RELEASES {
        println!("cargo::rustc-check-cfg=cfg(dpdk_ge_{y}_{m})");
    }
    println!("cargo::rustc-check-cfg=cfg(dpdk_major, values(any()))");
    #[cfg(feature = "dpdk")]
    with_dpdk::build(RELEASES);
}

#[cfg(feature = "dpdk")]
mod with_dpdk {
    use std::path::PathBuf;

    pub fn build(releases: &[(u32, u32)]) {
        println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
        let lib = match pkg_config::Config::new()
            .atleast_version("21.11")
            .probe("libdpdk")
        {
            Ok(lib) => lib,
            Err(e) => {
                eprintln!(
                    "\nerror: the `dpdk` feature needs DPDK (21.11 or newer) found through pkg-config \
                     as `libdpdk`, and it was not found:\n{e}\n\
                     On Debian/Ubuntu: apt-get install dpdk dpdk-dev libdpdk-dev libpcap-dev clang libclang-dev pkg-config\n\
                     Or build without the `dpdk` feature (the default) to read pcap files only.\n"
                );
                std::process::exit(1);
            }
        };
        let version = lib.version.clone();
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        println!("cargo::rustc-cfg=dpdk_major=\"{major}\"");
        for &(y, m) in releases {
            if (major, minor) >= (y, m) {
                println!("cargo::rustc-cfg=dpdk_ge_{y}_{m}");
            }
        }
        println!("cargo::rustc-env=WEIR_DPDK_VERSION={version}");
        // The PMD plugin directory (`<libdir>/dpdk/pmds-<ABI>`), which EAL
        // needs as `-d` when DPDK is built as shared libraries (Debian).
        let pmd_dir = lib
            .link_paths
            .iter()
            .map(|d| d.join("dpdk"))
            .chain(
                pkg_config::get_variable("libdpdk", "libdir")
                    .ok()
                    .map(|d| PathBuf::from(d).join("dpdk")),
            )
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|entries| entries.filter_map(Result::ok))
            .map(|e| e.path())
            .find(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("pmds-"))
            });
        if let Some(d) = pmd_dir {
            println!("cargo::rustc-env=WEIR_DPDK_PMD_DIR={}", d.display());
        }

        // The cflags DPDK wants (include dirs, `-include rte_config.h`, -march).
        let cflags = pkg_config::get_variable("libdpdk", "cflags").ok();
        let mut clang_args: Vec<String> = Vec::new();
        for p in &lib.include_paths {
            clang_args.push(format!("-I{}", p.display()));
        }
        for (k, v) in &lib.defines {
            clang_args.push(match v {
                Some(v) => format!("-D{k}={v}"),
                None => format!("-D{k}"),
            });
        }
        let raw = std::process::Command::new("pkg-config")
            .args(["--cflags", "libdpdk"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .or(cflags)
            .unwrap_or_default();
        let mut words = raw.split_whitespace();
        while let Some(w) = words.next() {
            if w == "-include" {
                if let Some(f) = words.next() {
                    clang_args.push("-include".into());
                    clang_args.push(f.into());
                }
            } else if w.starts_with("-march") || w.starts_with("-m") && !w.starts_with("-mno") {
                clang_args.push(w.into());
            }
        }

        let mut cc = cc::Build::new();
        cc.file("src/shim.c").warnings(false).opt_level(3);
        for a in &clang_args {
            cc.flag(a);
        }
        cc.compile("weir_dpdk_shim");

        let bindings = bindgen::Builder::default()
            .header("src/wrapper.h")
            .clang_args(&clang_args)
            .allowlist_function("rte_.*")
            .allowlist_function("weir_.*")
            .allowlist_type("rte_.*")
            .allowlist_var("RTE_.*")
            // Fast-path inline helpers are reached through the shim only.
            .blocklist_function("rte_.*_inline")
            // Packed structs holding aligned ones, which Rust rejects; weir never looks inside.
            .opaque_type("rte_l2tpv2_.*")
            .opaque_type("rte_flow_item_l2tpv2")
            .derive_debug(false)
            .derive_default(true)
            .layout_tests(false)
            .generate_comments(false)
            .generate_inline_functions(false)
            .prepend_enum_name(false)
            .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
            .generate()
            .unwrap_or_else(|e| {
                eprintln!("\nerror: bindgen failed on the DPDK headers: {e}\n");
                std::process::exit(1);
            });
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
        bindings
            .write_to_file(out.join("bindings.rs"))
            .expect("cannot write bindings.rs");
    }
}
