//! Release links of the `gomodel` binary place the functions a running gateway executes side by
//! side at the front of `.text`, in the order of `symbol-order.txt` (made by
//! `bench/symbol-order.sh`). The kernel maps executable pages in 64 KiB windows around every
//! fault, so code spread over the whole binary keeps most of it resident; packed, the process
//! touches a fraction of the pages. Why and what it measured: `docs/symbol-order.md`.
//!
//! Only applied where the linker is known to understand the flag: release builds for
//! x86_64-unknown-linux-gnu, linked by rustc's bundled LLD (the default for that target since
//! Rust 1.90; the workspace needs 1.94), unless the build picks another linker through rustflags.
//! `GOMODEL_SYMBOL_ORDER=off` turns it off. Names the file lists that the binary does not have
//! (after a dependency update) are skipped by the linker without a warning.

use std::env;
use std::path::PathBuf;

const ORDER_FILE: &str = "symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=GOMODEL_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=GOMODEL_LINK_MAP");
    // `bench/symbol-order.sh` asks for the linker's map to name the functions of a stripped
    // binary. An environment variable, not a profile setting: changing the profile (even `strip`)
    // changes every symbol's hash, and the order file must name this very build's symbols.
    if let Ok(map) = env::var("GOMODEL_LINK_MAP") {
        // Mangled names in the map: the order file must list symbols as the linker sees them.
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map},--no-demangle");
    }
    if !applies() {
        return;
    }
    let Some(manifest_dir) = env::var_os("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order_file = PathBuf::from(manifest_dir).join(ORDER_FILE);
    if !order_file.is_file() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order_file.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

fn applies() -> bool {
    let var = |name: &str| env::var(name).unwrap_or_default();
    if var("GOMODEL_SYMBOL_ORDER") == "off" || var("PROFILE") != "release" {
        return false;
    }
    if var("TARGET") != "x86_64-unknown-linux-gnu" {
        return false;
    }
    // A linker chosen through rustflags (mold, gold, GNU ld via -fuse-ld or -C linker) may not
    // know the flag; leave such builds alone rather than fail their link.
    let rustflags = var("CARGO_ENCODED_RUSTFLAGS");
    !(rustflags.contains("linker") || rustflags.contains("fuse-ld"))
}
