use super::{guard, tonecore_status};
use std::ffi::c_char;

/// The C ABI version this header describes; `tonecore_abi_version()` returns the library's.
/// Also the SONAME suffix: `libtonecore.so.<TONECORE_ABI_VERSION>`.
pub const TONECORE_ABI_VERSION: u32 = 1;

const _: () = assert!(TONECORE_ABI_VERSION == crate::ABI_VERSION);

/// The library's C ABI version. Compare with `TONECORE_ABI_VERSION` at start-up. Cannot fail.
///
/// Thread class: audio-safe.
#[no_mangle]
pub extern "C" fn tonecore_abi_version() -> u32 {
    crate::ABI_VERSION
}

/// The library's version string (`"MAJOR.MINOR.PATCH"`, as `TONECORE_VERSION`).
///
/// Cannot fail. The string is static storage owned by the library: never NULL, do not free.
///
/// Thread class: audio-safe.
#[no_mangle]
pub extern "C" fn tonecore_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Panics inside the panic guard on purpose and returns `TONECORE_STATUS_PANIC`, with the
/// detail in `tonecore_last_error_message()`. For host test suites that check that a panic
/// inside tonecore never aborts or unwinds into the host.
///
/// Returns `PANIC`, always. Thread class: control-thread (the panic allocates its message).
#[no_mangle]
pub extern "C" fn tonecore_debug_panic() -> tonecore_status {
    guard(|| panic!("tonecore_debug_panic was called"))
}
