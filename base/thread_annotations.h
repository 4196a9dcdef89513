// Clang thread-safety annotations (-Wthread-safety). They let the compiler
// check that every field marked REFLEX_GUARDED_BY(mu) is touched only with mu
// held. Under gcc they expand to nothing; the clang configs (asan, tsan,
// fuzz, clangcov) compile with -Wthread-safety -Werror.
#ifndef REFLEX_BASE_THREAD_ANNOTATIONS_H_
#define REFLEX_BASE_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define REFLEX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define REFLEX_THREAD_ANNOTATION(x)
#endif

#define REFLEX_CAPABILITY(name) REFLEX_THREAD_ANNOTATION(capability(name))
#define REFLEX_SCOPED_CAPABILITY REFLEX_THREAD_ANNOTATION(scoped_lockable)
#define REFLEX_GUARDED_BY(mu) REFLEX_THREAD_ANNOTATION(guarded_by(mu))
#define REFLEX_REQUIRES(...) \
  REFLEX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REFLEX_ACQUIRE(...) \
  REFLEX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define REFLEX_RELEASE(...) \
  REFLEX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define REFLEX_EXCLUDES(...) REFLEX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// For the rare function whose locking the analysis cannot follow (a lock per
// array element taken in a loop); its comment must say what it holds.
#define REFLEX_NO_THREAD_SAFETY_ANALYSIS \
  REFLEX_THREAD_ANNOTATION(no_thread_safety_analysis)

#endif  // REFLEX_BASE_THREAD_ANNOTATIONS_H_
