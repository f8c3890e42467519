//! The committed C header is the one cbindgen generates now, and its version macros agree with
//! the crate.

#[test]
fn header_is_fresh() {
    let fresh = include_str!(concat!(env!("OUT_DIR"), "/tonecore.h"));
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/tonecore.h"))
            .expect("include/tonecore.h exists");
    assert!(
        fresh == committed,
        "include/tonecore.h is stale: run `cargo build` outside CI and commit the header"
    );
}

#[test]
fn header_versions_match_the_crate() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/tonecore.h"));
    let version = format!("#define TONECORE_VERSION \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(header.contains(&version));
    let abi = format!("#define TONECORE_ABI_VERSION {}", tonecore::ABI_VERSION);
    assert!(header.contains(&abi));
    assert_eq!(tonecore::ffi::tonecore_abi_version(), tonecore::ABI_VERSION);
    let s = unsafe { std::ffi::CStr::from_ptr(tonecore::ffi::tonecore_version_string()) };
    assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    for (name, part) in ["MAJOR", "MINOR", "PATCH"]
        .iter()
        .zip(env!("CARGO_PKG_VERSION").split('.'))
    {
        assert!(header.contains(&format!("#define TONECORE_VERSION_{name} {part}\n")));
    }
}
