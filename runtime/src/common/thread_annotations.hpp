// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html),
// behind macros that expand to nothing on other compilers. They state a locking contract beside
// the member it guards: `HILO_GUARDED_BY(mutex_)` on a member says every access holds mutex_,
// `HILO_REQUIRES(mutex_)` on a function that its caller holds it. Clang checks the contract with
// -Wthread-safety only where the mutex type is itself annotated as a capability (libc++ with
// _LIBCPP_ENABLE_THREAD_SAFETY_ANNOTATIONS); with libstdc++'s std::mutex, and on GCC, where the
// macros are empty, it is documentation that sits on the code it describes.
#pragma once

#if defined(__clang__)
#define HILO_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define HILO_THREAD_ANNOTATION(x)
#endif

// The member is read and written only with `mutex` held.
#define HILO_GUARDED_BY(mutex) HILO_THREAD_ANNOTATION(guarded_by(mutex))
// The data the pointer member points to is accessed only with `mutex` held.
#define HILO_PT_GUARDED_BY(mutex) HILO_THREAD_ANNOTATION(pt_guarded_by(mutex))
// The caller of the function holds `...` (it does not lock them itself).
#define HILO_REQUIRES(...) HILO_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// The caller of the function must not hold `...` (the function locks them).
#define HILO_EXCLUDES(...) HILO_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
