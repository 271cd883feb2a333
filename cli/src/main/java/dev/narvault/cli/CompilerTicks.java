package dev.narvault.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The CPU the JIT compiler threads of some JVMs have used, from Linux's {@code /proc} (empty
 * elsewhere): {@code bench gateway} says how much of each path's CPU was compiling code rather
 * than serving bytes. A compiler thread that ends between two readings takes its time with it, so
 * the JIT's share is a lower bound.
 */
record CompilerTicks(Map<String, Long> ticksByThread) {
  /** Linux reports thread times in clock ticks of 1/100 s ({@code USER_HZ}) on every architecture it runs the JDK on. */
  private static final long NANOS_PER_TICK = 10_000_000L;

  static CompilerTicks of(long... pids) {
    Map<String, Long> ticks = new HashMap<>();
    for (long pid : pids) {
      Path tasks = Path.of("/proc", Long.toString(pid), "task");
      try (Stream<Path> threads = Files.list(tasks)) {
        threads.forEach(t -> read(pid, t, ticks));
      } catch (IOException | SecurityException e) {
        // Not Linux, or the process is gone: nothing known.
      }
    }
    return new CompilerTicks(ticks);
  }

  private static void read(long pid, Path thread, Map<String, Long> into) {
    try {
      String stat = Files.readString(thread.resolve("stat"));
      // "tid (comm) state ...": the name may hold spaces, so fields are counted after its ')'.
      int open = stat.indexOf('(');
      int close = stat.lastIndexOf(')');
      String name = stat.substring(open + 1, close);
      if (!name.startsWith("C1 CompilerThre") && !name.startsWith("C2 CompilerThre")) {
        return;
      }
      String[] fields = stat.substring(close + 2).split(" ");
      // After the name: state is field 3 of stat(5), utime 14 and stime 15.
      long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
      into.put(pid + "/" + thread.getFileName(), ticks);
    } catch (IOException | RuntimeException e) {
      // The thread ended while being read.
    }
  }

  /** Compiler CPU since {@code earlier}, of the threads alive at both readings and those started since. */
  long nanosSince(CompilerTicks earlier) {
    long ticks = 0;
    for (Map.Entry<String, Long> e : ticksByThread.entrySet()) {
      ticks += Math.max(0, e.getValue() - earlier.ticksByThread.getOrDefault(e.getKey(), 0L));
    }
    return ticks * NANOS_PER_TICK;
  }
}
