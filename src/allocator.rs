//! The process's memory allocator: jemalloc instead of the C library's.
//!
//! Declared in the library, so the served binary, the benchmark (which runs the application
//! in process) and the tests all allocate the same way. A fold at N = 100,000 spent over a
//! quarter of the process's samples in glibc's allocator walking and merging free chunks
//! (`_int_malloc`, `unlink_chunk`, `malloc_consolidate`); with jemalloc the SQLite fold went
//! from 19,400 to 28,600 rows/s there (`docs/performance.md`, fifteenth round).
//!
//! It also replaces the C library's `malloc` for C code in the process
//! (`unprefixed_malloc_on_supported_platforms`), which is the bundled SQLite: with glibc,
//! each full list's chunk text and the driver's copy of it (a few hundred KB each) were
//! mapped afresh and returned on every request, ~170 page faults per list of 100 and a fifth
//! of its time in the served binary (`tests/served_memory.rs`; twenty-third round).

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
