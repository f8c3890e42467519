//! Generates the C header with cbindgen.
//!
//! The header is always generated into `$OUT_DIR/tonecore.h`. Outside CI it is also copied to
//! `include/tonecore.h` when (and only when) the content differs, so a build that changes nothing
//! leaves the tree clean. Under CI (`CI` set) the committed header is left alone and the test
//! `header_is_fresh` fails if it differs from the fresh generation.
//!
//! On Linux the shared library gets the SONAME `libtonecore.so.<ABI>`.

use std::env;
use std::fs;
use std::path::PathBuf;

const ABI_VERSION: u32 = 1;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CI");

    // Keep the Rust constant and the SONAME in step.
    let lib_rs = fs::read_to_string(root.join("src/lib.rs")).expect("read src/lib.rs");
    assert!(
        lib_rs.contains(&format!("pub const ABI_VERSION: u32 = {ABI_VERSION};")),
        "build.rs ABI_VERSION must equal src/lib.rs ABI_VERSION"
    );
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtonecore.so.{ABI_VERSION}");
    }

    let version = env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let mut parts = version.split('.');
    let mut next = || parts.next().unwrap_or("0").to_string();
    let (major, minor, patch) = (next(), next(), next());
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define TONECORE_VERSION \"{version}\"\n\
         #define TONECORE_VERSION_MAJOR {major}\n\
         #define TONECORE_VERSION_MINOR {minor}\n\
         #define TONECORE_VERSION_PATCH {}\n",
        patch
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("0")
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen failed to generate include/tonecore.h");
    let fresh = out_dir.join("tonecore.h");
    bindings.write_to_file(&fresh);

    if env::var_os("CI").is_none() {
        let header = root.join("include/tonecore.h");
        let new = fs::read(&fresh).expect("read generated header");
        if fs::read(&header).ok().as_deref() != Some(&new[..]) {
            fs::create_dir_all(root.join("include")).expect("create include/");
            fs::write(&header, new).expect("write include/tonecore.h");
        }
    }
}
