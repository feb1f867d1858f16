//! The per-container monitor program (see the skiff-monitor crate). It lives as long as each
//! container, so release builds (panic = "abort") leave the Rust standard library out: libc's
//! allocator, an abort on panic, and the C runtime's `main`. That keeps std's formatting and
//! backtrace machinery out of the pages it holds. Builds that unwind (dev, tests) use std's
//! `main`, since stable Rust needs std to unwind; both run the same `skiff_monitor::main`.
#![cfg_attr(panic = "abort", no_std)]
#![cfg_attr(panic = "abort", no_main)]

#[cfg(panic = "abort")]
mod without_std {
    use core::alloc::{GlobalAlloc, Layout};

    struct LibcAllocator;

    // SAFETY: malloc/free (and posix_memalign for larger alignments) satisfy GlobalAlloc.
    unsafe impl GlobalAlloc for LibcAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= 16 {
                // SAFETY: malloc returns 16-byte aligned memory or null.
                unsafe { libc::malloc(layout.size()).cast() }
            } else {
                let mut pointer = core::ptr::null_mut();
                // SAFETY: the alignment is a power of two and a multiple of the pointer size.
                let failed =
                    unsafe { libc::posix_memalign(&mut pointer, layout.align(), layout.size()) };
                if failed == 0 {
                    pointer.cast()
                } else {
                    core::ptr::null_mut()
                }
            }
        }

        unsafe fn dealloc(&self, pointer: *mut u8, _layout: Layout) {
            // SAFETY: the pointer came from malloc or posix_memalign above.
            unsafe { libc::free(pointer.cast()) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: LibcAllocator = LibcAllocator;

    // libc decides how it links when it is compiled, and without std nothing asks for the C
    // library: ask here (statically in build.sh's static build).
    // (The static C library refers to libgcc's unwinder for its own cleanup paths.)
    #[link(name = "c")]
    #[link(name = "gcc_eh")]
    #[link(name = "gcc")]
    unsafe extern "C" {}

    /// The precompiled `alloc` refers to the unwinder's personality routine even though this
    /// program aborts on panic and never unwinds; nothing calls it.
    #[unsafe(no_mangle)]
    pub extern "C" fn rust_eh_personality() {}

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        // SAFETY: abort never returns.
        unsafe { libc::abort() }
    }

    /// C's entry point, called by the C runtime.
    #[unsafe(no_mangle)]
    pub extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
        // SAFETY: the C runtime passes argc valid strings in argv.
        unsafe { skiff_monitor::main(argc, argv) }
    }
}

#[cfg(not(panic = "abort"))]
fn main() {
    let args: Vec<std::ffi::CString> = std::env::args_os()
        .map(|a| {
            std::ffi::CString::new(std::os::unix::ffi::OsStringExt::into_vec(a)).unwrap_or_default()
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: argv holds args.len() NUL-terminated strings that outlive the call.
    std::process::exit(unsafe { skiff_monitor::main(args.len() as i32, argv.as_ptr()) });
}
