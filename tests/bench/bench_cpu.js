// bench_core in wasm (node): the CPU time of the process in seconds, for
// bench_core.c cpu_s(). Linked with --js-library.
mergeInto(LibraryManager.library, {
  bench_cpu_seconds: function () {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  },
});
