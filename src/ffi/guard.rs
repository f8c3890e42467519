//! Panic guard, thread-local error detail, pointer/slice checks and the in-use/poison flags of
//! single-threaded C objects.

use super::tonecore_status;
use std::borrow::Cow;
use std::cell::Cell;
use std::cell::{RefCell, UnsafeCell};
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

thread_local! {
    /// How many guarded calls this thread is inside (a callback can re-enter the library).
    static GUARD_DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Where the last panic on this thread happened (`file:line`), recorded by the hook.
    static PANIC_AT: Cell<Option<String>> = const { Cell::new(None) };
}

/// Installs, once, the panic hook that keeps the host's stderr clean: a panic on a thread that
/// is inside a guarded call, or on one of tonecore's own threads (named `tonecore-…`, or a rayon
/// worker: the library's parallel work), is not printed — the guard or the catching code turns
/// it into a status and its message into the last-error detail. Every other panic goes to the
/// hook that was installed before.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = GUARD_DEPTH.with(Cell::get) > 0
                || rayon::current_thread_index().is_some()
                || std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("tonecore"));
            if ours {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                PANIC_AT.with(|cell| cell.set(at));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `body` counted as inside a guarded call (see [`install_quiet_hook`]).
fn guarded<R>(body: impl FnOnce() -> R) -> std::thread::Result<R> {
    install_quiet_hook();
    GUARD_DEPTH.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(body));
    GUARD_DEPTH.with(|d| d.set(d.get() - 1));
    result
}

/// A refused call: its status and, for control-path errors, a detail message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: tonecore_status,
    pub detail: Option<Cow<'static, str>>,
}

impl Failure {
    pub fn new(status: tonecore_status) -> Self {
        Self {
            status,
            detail: None,
        }
    }

    pub fn detail(status: tonecore_status, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            detail: Some(detail.into()),
        }
    }
}

impl From<tonecore_status> for Failure {
    fn from(status: tonecore_status) -> Self {
        Self::new(status)
    }
}

impl From<crate::ConfigError> for Failure {
    fn from(e: crate::ConfigError) -> Self {
        Self::detail(e.into(), e.message())
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Config(e) => e.into(),
            crate::Error::Process(e) => e.into(),
        }
    }
}

impl From<crate::ProcessError> for Failure {
    fn from(e: crate::ProcessError) -> Self {
        Self::detail(e.into(), e.message())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn set_last_error(text: &str) {
    LAST_ERROR.with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            e.clear();
            e.extend(text.bytes().filter(|&b| b != 0));
            e.push(0);
        }
    });
}

fn clear_last_error() {
    LAST_ERROR.with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            e.clear();
        }
    });
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown payload");
    match PANIC_AT.with(Cell::take) {
        Some(at) => format!("panic caught inside tonecore: {what} (at {at})"),
        None => format!("panic caught inside tonecore: {what}"),
    }
}

/// Runs an exported function's body: catches panics, records the detail message of a failure
/// in the calling thread's last-error slot, and returns the status.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> tonecore_status {
    clear_last_error();
    match guarded(body) {
        Ok(Ok(())) => tonecore_status::Ok,
        Ok(Err(failure)) => {
            set_last_error(
                failure
                    .detail
                    .as_deref()
                    .unwrap_or_else(|| failure.status.message()),
            );
            failure.status
        }
        Err(payload) => {
            set_last_error(&panic_text(&*payload));
            tonecore_status::Panic
        }
    }
}

/// [`guard`] for audio-path functions: catches panics but never touches the thread-local detail
/// message (which may allocate), so a refused call costs nothing but its status.
pub(crate) fn guard_rt(body: impl FnOnce() -> Result<(), Failure>) -> tonecore_status {
    match guarded(body) {
        Ok(Ok(())) => tonecore_status::Ok,
        Ok(Err(failure)) => failure.status,
        Err(_) => tonecore_status::Panic,
    }
}

/// The detail message of the last failed call on this thread, or `""` after a successful one.
/// Audio-safe functions neither set nor clear it (touching it could allocate): after one of them
/// fails, use `tonecore_status_str` on its status instead.
///
/// Cannot fail. The string belongs to tonecore (do not free it) and stays valid until the next
/// tonecore call on this thread; copy it to keep it. Never NULL.
///
/// Thread class: any-thread (control path).
#[no_mangle]
pub extern "C" fn tonecore_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| match e.try_borrow() {
        Ok(e) if !e.is_empty() => e.as_ptr().cast(),
        _ => c"".as_ptr(),
    })
}

/// Interior state of a C object that must be used by one thread at a time.
///
/// [`Guarded::with`] detects a second thread entering while the first is inside (returning
/// `CONCURRENT_USE` instead of racing) and poisons the object when the body panics.
pub(crate) struct Guarded<T> {
    inner: UnsafeCell<T>,
    in_use: AtomicBool,
    poisoned: AtomicBool,
}

// SAFETY: access to `inner` is exclusive: `with` enters only after winning the `in_use` flag.
unsafe impl<T: Send> Sync for Guarded<T> {}

impl<T> Guarded<T> {
    pub fn new(value: T) -> Self {
        Self {
            inner: UnsafeCell::new(value),
            in_use: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
        }
    }

    /// Runs `body` with exclusive access to the state. Real-time safe on success and on refusal
    /// (two atomic operations); a panic inside allocates its message.
    pub fn with<R>(&self, body: impl FnOnce(&mut T) -> Result<R, Failure>) -> Result<R, Failure> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(tonecore_status::Poisoned.into());
        }
        if self
            .in_use
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(tonecore_status::ConcurrentUse.into());
        }
        // SAFETY: the flag above grants exclusive access until it is released below.
        let result = guarded(|| body(unsafe { &mut *self.inner.get() }));
        if result.is_err() {
            self.poisoned.store(true, Ordering::Release);
        }
        self.in_use.store(false, Ordering::Release);
        match result {
            Ok(r) => r,
            Err(payload) => Err(Failure::detail(
                tonecore_status::Panic,
                panic_text(&*payload),
            )),
        }
    }
}

/// Largest element count a C buffer of `T` may have (Rust slices are limited to `isize::MAX`
/// bytes).
fn max_len<T>() -> usize {
    isize::MAX as usize / std::mem::size_of::<T>().max(1)
}

/// Borrows a C input buffer. NULL is refused whatever the length; a length of 0 gives an empty
/// slice; a length beyond the address space is `INVALID_LENGTH`.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable, initialised values that stay valid and
/// unmodified for `'a`.
pub(crate) unsafe fn slice_in<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], Failure> {
    if ptr.is_null() {
        return Err(tonecore_status::NullPointer.into());
    }
    if len > max_len::<T>() {
        return Err(tonecore_status::InvalidLength.into());
    }
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.align_offset(std::mem::align_of::<T>()) != 0 {
        return Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "buffer is not aligned for its element type",
        ));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// Borrows a C output buffer; the same rules as [`slice_in`].
///
/// # Safety
/// A non-NULL `ptr` must point to `len` writable values, not aliased by anything else for `'a`.
pub(crate) unsafe fn slice_out<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], Failure> {
    if ptr.is_null() {
        return Err(tonecore_status::NullPointer.into());
    }
    if len > max_len::<T>() {
        return Err(tonecore_status::InvalidLength.into());
    }
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.align_offset(std::mem::align_of::<T>()) != 0 {
        return Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "buffer is not aligned for its element type",
        ));
    }
    Ok(std::slice::from_raw_parts_mut(ptr, len))
}

/// Borrows a live C object, or `NULL_POINTER`.
///
/// # Safety
/// A non-NULL `object` must point to a live object for `'a`.
pub(crate) unsafe fn object_ref<'a, T>(object: *const T) -> Result<&'a T, Failure> {
    object
        .as_ref()
        .ok_or_else(|| tonecore_status::NullPointer.into())
}

/// Frees a boxed C object inside the panic guard; NULL is a no-op.
///
/// # Safety
/// `object` must be NULL or come from `Box::into_raw` and not be used afterwards.
pub(crate) unsafe fn free_object<T>(object: *mut T) {
    if !object.is_null() {
        let _ = guard(|| {
            drop(Box::from_raw(object));
            Ok(())
        });
    }
}

/// Checks that an out-parameter is not NULL.
pub(crate) fn out_param<T>(ptr: *mut T) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(tonecore_status::NullPointer.into())
    } else {
        Ok(ptr)
    }
}

/// Reads a versioned config struct whose first field is its `struct_size`: NULL →
/// `NULL_POINTER`; a size below the current one that is none of `earlier` (the struct's sizes
/// in earlier releases) → `STRUCT_SIZE` with `what` in the message. Only `struct_size` bytes
/// are read; fields a caller compiled against an older header does not have keep their
/// defaults.
///
/// # Safety
/// `ptr` NULL or readable for its `struct_size` bytes.
pub(crate) unsafe fn sized_in<T: Copy + Default>(
    ptr: *const T,
    earlier: &[usize],
    what: &'static str,
) -> Result<T, Failure> {
    if ptr.is_null() {
        return Err(tonecore_status::NullPointer.into());
    }
    let size = ptr.cast::<usize>().read_unaligned();
    // The struct as in an earlier release, or (at least) as it is now; any other size is no
    // version of it.
    if !earlier.contains(&size) && size < std::mem::size_of::<T>() {
        return Err(Failure::detail(tonecore_status::StructSize, what));
    }
    let mut value = T::default();
    let n = size.min(std::mem::size_of::<T>());
    std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), (&mut value as *mut T).cast::<u8>(), n);
    Ok(value)
}

/// Borrows an audio block: `input_len` samples in, at least as many out, a whole number of
/// `channels`, not overlapping. Audio-safe.
///
/// # Safety
/// As [`slice_in`] and [`slice_out`].
pub(crate) unsafe fn audio_block<'a, T>(
    input: *const T,
    input_len: usize,
    output: *mut T,
    output_len: usize,
    channels: usize,
) -> Result<(&'a [T], &'a mut [T]), Failure> {
    let x = slice_in(input, input_len)?;
    let y = slice_out(output, output_len)?;
    disjoint(input, input_len, output, output_len)?;
    if channels == 0 || input_len % channels != 0 {
        return Err(tonecore_status::InvalidChannels.into());
    }
    Ok((x, y))
}

/// Fails with `BUFFERS_OVERLAP` when two C buffers share any byte.
pub(crate) fn disjoint<A, B>(
    a: *const A,
    a_len: usize,
    b: *const B,
    b_len: usize,
) -> Result<(), Failure> {
    let a0 = a as usize;
    let a1 = a0.saturating_add(a_len.saturating_mul(std::mem::size_of::<A>()));
    let b0 = b as usize;
    let b1 = b0.saturating_add(b_len.saturating_mul(std::mem::size_of::<B>()));
    if a0 < b1 && b0 < a1 {
        Err(tonecore_status::BuffersOverlap.into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(tonecore_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn guard_turns_panics_into_status_and_detail() {
        let status = guard(|| panic!("deliberate"));
        assert_eq!(status, tonecore_status::Panic);
        assert!(last_error().contains("deliberate"), "{}", last_error());
        assert_eq!(guard(|| Ok(())), tonecore_status::Ok);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn guarded_object_is_poisoned_by_a_panic() {
        let object = Guarded::new(5u32);
        let r: Result<(), Failure> = object.with(|_| panic!("inside the object"));
        assert_eq!(r.unwrap_err().status, tonecore_status::Panic);
        let r = object.with(|v| Ok(*v));
        assert_eq!(r.unwrap_err().status, tonecore_status::Poisoned);
    }

    #[test]
    fn guarded_object_refuses_reentry() {
        let object = Guarded::new(0u32);
        let inner = object.with(|_| Ok(object.with(|_| Ok(())).unwrap_err().status));
        assert_eq!(inner.unwrap(), tonecore_status::ConcurrentUse);
        assert!(object.with(|_| Ok(())).is_ok());
    }

    #[test]
    fn slices_check_null_and_huge_lengths() {
        let r = unsafe { slice_in::<f32>(std::ptr::null(), 0) };
        assert_eq!(r.unwrap_err().status, tonecore_status::NullPointer);
        let x = [1.0f32];
        let r = unsafe { slice_in::<f32>(x.as_ptr(), usize::MAX) };
        assert_eq!(r.unwrap_err().status, tonecore_status::InvalidLength);
        assert!(disjoint(x.as_ptr(), 1, x.as_ptr(), 1).is_err());
        assert!(disjoint(x.as_ptr(), 1, unsafe { x.as_ptr().add(1) }, 1).is_ok());
    }
}
