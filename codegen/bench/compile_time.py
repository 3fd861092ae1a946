#!/usr/bin/env python3
"""Compile-time benchmark of the subscription compiler (issue #6).

Generates one weir application per workload — N HTTP-host subscriptions
(`http.host = 'hK.example.com'`) or N disjoint IPv4-subnet subscriptions
(`ipv4.addr in 10.X.Y.0/24`) — as a crate outside the workspace, builds it
with `cargo build --release`, and reports:

- ir_ms: the IR build + optimise time the macro recorded (WEIR_DUMP_IR);
- rustc_s: the wall time of building the app crate alone (dependencies
  already built: `touch` then build), i.e. macro expansion + rustc;
- cold_s: the wall time of the first build of the workload (includes
  weir and its dependencies only for the first workload run).

Usage: python3 codegen/bench/compile_time.py [--out results/compile_time.csv] [WORKLOAD...]
Workloads: http1 http256 http5000 subnet1024 subnet2048 (default: all).
Regenerate the CSV by running this script from the repository root.
"""
import argparse, csv, os, platform, shutil, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKLOADS = {
    "http1": ("http", 1), "http256": ("http", 256), "http5000": ("http", 5000),
    "subnet1024": ("subnet", 1024), "subnet2048": ("subnet", 2048),
}

def source(kind, n):
    out = ["#[weir::app]", "mod subs {", "    use weir::prelude::*;"]
    for k in range(n):
        if kind == "http":
            out.append(f"    #[callback(\"http.host = 'h{k}.example.com'\")]")
            out.append(f"    fn s{k}(t: &HttpTransaction) {{ let _ = t; }}")
        else:
            out.append(f"    #[callback(\"ipv4.addr in 10.{k // 256}.{k % 256}.0/24\")]")
            out.append(f"    fn s{k}(r: &ConnRecord) {{ let _ = r; }}")
    out.append("}")
    out.append("fn main() -> std::process::ExitCode { weir::app::main::<subs::App>() }")
    return "\n".join(out) + "\n"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "results", "compile_time.csv"))
    ap.add_argument("--target-dir", default=os.path.join(ROOT, "target", "compile-bench-target"))
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    a = ap.parse_args()
    base = os.path.join(ROOT, "target", "compile-bench")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for w in a.workloads:
        kind, n = WORKLOADS[w]
        d = os.path.join(base, w)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "src"))
        with open(os.path.join(d, "Cargo.toml"), "w") as f:
            f.write(f'[package]\nname = "bench-{w}"\nversion = "0.0.0"\nedition = "2021"\n\n'
                    f'[dependencies]\nweir = {{ path = "{ROOT}/framework/weir" }}\n\n[workspace]\n\n'
                    '[profile.release]\ndebug = "line-tables-only"\n')
        shutil.copy(os.path.join(ROOT, "Cargo.lock"), os.path.join(d, "Cargo.lock"))
        with open(os.path.join(d, "src", "main.rs"), "w") as f:
            f.write(source(kind, n))
        dump = os.path.join(d, "ir")
        env = dict(os.environ, WEIR_DUMP_IR=dump, CARGO_TARGET_DIR=a.target_dir)
        cmd = ["cargo", "build", "--release", "--quiet"]
        t0 = time.monotonic()
        r = subprocess.run(cmd, cwd=d, env=env)
        cold = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit(f"{w}: cargo build failed")
        os.utime(os.path.join(d, "src", "main.rs"))
        shutil.rmtree(dump, ignore_errors=True)
        t0 = time.monotonic()
        r = subprocess.run(cmd, cwd=d, env=env)
        warm = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit(f"{w}: cargo build failed")
        with open(os.path.join(dump, "subs.ir.txt")) as f:
            first = f.readline()
        ir_us = int(first.split(":")[1].split()[0])
        row = {"workload": w, "subscriptions": n, "ir_ms": round(ir_us / 1000, 1), "rustc_s": round(warm, 1), "cold_s": round(cold, 1),
               "machine": f"{platform.machine()} {os.cpu_count()} cpus", "rev": rev,
               "command": "python3 codegen/bench/compile_time.py " + w}
        print(row, flush=True)
        # Each row as soon as it is measured (a long workload may be stopped).
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        new = not os.path.exists(a.out)
        with open(a.out, "a", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=list(row))
            if new:
                wr.writeheader()
            wr.writerow(row)

if __name__ == "__main__":
    main()
