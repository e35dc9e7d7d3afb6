//! `Gc<T>` with CPython's generational cycle collector (arrives with issue 4).
