package dev.gatehouse.proxy.testsupport;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;

/** CPU time of the proxies' I/O threads in this JVM: a parked I/O thread uses none, a spinning one all it gets. */
public final class IoThreads {
  private IoThreads() {}

  /** The CPU time, in nanoseconds, all live XNIO I/O threads have used so far. */
  public static long cpuNanos() {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (ThreadInfo t : mx.dumpAllThreads(false, false)) {
      if (t.getThreadName().contains(" I/O-")) {
        sum += Math.max(0, mx.getThreadCpuTime(t.getThreadId()));
      }
    }
    return sum;
  }
}
