package dev.narvault.holder.server;

import java.util.ArrayDeque;
import java.util.List;

/** The last few things that went wrong (contact with the coordinator, scrub), for the dashboard. */
final class RecentProblems {
  /** One problem: when, and what, in words. */
  record Problem(long atMillis, String what) {}

  static final int KEPT = 10;
  private final ArrayDeque<Problem> problems = new ArrayDeque<>();

  synchronized void add(long atMillis, String what) {
    String text = what == null ? "(no message)" : what;
    problems.addFirst(new Problem(atMillis, text.length() > 300 ? text.substring(0, 300) + "…" : text));
    while (problems.size() > KEPT) {
      problems.removeLast();
    }
  }

  /** Newest first. */
  synchronized List<Problem> list() {
    return List.copyOf(problems);
  }
}
