//! Generates the differential corpus's applications (`tests/differential/apps.toml`)
//! as `#[weir::app]` modules for `tests/differential.rs`.

use serde::Deserialize;
use std::fmt::Write;

#[derive(Deserialize)]
struct Corpus {
    app: Vec<App>,
}

#[derive(Deserialize)]
struct App {
    name: String,
    sub: Vec<Sub>,
}

#[derive(Deserialize)]
struct Sub {
    #[serde(default)]
    filter: String,
    params: Vec<String>,
    on: Option<String>,
    #[serde(default)]
    streaming: bool,
    every: Option<String>,
    #[serde(default)]
    unsubscribe: bool,
}

const COMMON: &str = "super::common::Bytes, super::common::Segs, super::common::Life, super::common::L7Log, super::common::high_port, super::common::Talker, super::common::short_sni, super::common::bulky";

fn main() {
    let src = "tests/differential/apps.toml";
    println!("cargo:rerun-if-changed={src}");
    let text = std::fs::read_to_string(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let corpus: Corpus = toml::from_str(&text).unwrap_or_else(|e| panic!("{src}: {e}"));
    let mut out = String::new();
    let mut list = String::new();
    for a in &corpus.app {
        let m = format!("app_{}", a.name);
        writeln!(out, "#[weir::app(include({COMMON}))]\n#[allow(unused_variables, unused_imports, dead_code, non_camel_case_types)]\npub mod {m} {{\n    use weir::prelude::*;\n    use super::common::*;").unwrap();
        for (i, s) in a.sub.iter().enumerate() {
            let params: Vec<String> = s.params.iter().enumerate().map(|(k, p)| format!("a{k}: &{p}")).collect();
            let names: Vec<String> = (0..s.params.len()).map(|k| format!("a{k}")).collect();
            let filter = format!("{:?}", s.filter);
            if s.unsubscribe {
                let on = s.on.clone().unwrap_or_else(|| "L4InConn".into());
                writeln!(
                    out,
                    "    pub struct S{i} {{ t: Three }}\n    #[callback({filter})]\n    impl S{i} {{\n        pub fn new(ctx: &Ctx) -> Self {{ S{i} {{ t: Three::new(ctx) }} }}\n        #[callback_fn(on = {on}, streaming)]\n        fn go(&mut self, {p}) -> bool {{ let _ = ({n},); self.t.tick() }}\n        #[callback_fn(on = L4Terminated)]\n        fn end(&mut self) {{}}\n    }}",
                    p = params.join(", "),
                    n = names.join(", ")
                )
                .unwrap();
                continue;
            }
            let mut args = vec![filter];
            if let Some(on) = &s.on {
                args.push(format!("on = {on}"));
            }
            match (&s.every, s.streaming) {
                (Some(e), _) => args.push(format!("streaming({e})")),
                (None, true) => args.push("streaming".into()),
                _ => {}
            }
            let ret = if s.streaming || s.every.is_some() { " -> bool" } else { "" };
            let body = if ret.is_empty() { format!("let _ = ({},);", names.join(", ")) } else { format!("let _ = ({},); true", names.join(", ")) };
            writeln!(out, "    #[callback({})]\n    pub fn s{i}({}){ret} {{ {body} }}", args.join(", "), params.join(", ")).unwrap();
        }
        writeln!(out, "}}").unwrap();
        writeln!(list, "    ({:?}, run_app::<{m}::App>),", a.name).unwrap();
    }
    writeln!(out, "pub fn apps() -> Vec<(&'static str, RunFn)> {{\n    vec![\n{list}    ]\n}}").unwrap();
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("diff_apps.rs");
    std::fs::write(dest, out).unwrap();
}
