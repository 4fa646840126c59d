package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.ProxyServer;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.ForwardProxy;
import dev.gatehouse.proxy.reverse.HealthCheck;
import dev.gatehouse.proxy.reverse.OutlierDetection;
import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The proxies under {@link Soak}, in a process of their own so that what it samples (RSS, heap after GC,
 * file descriptors, threads) is the proxies' alone: a reverse proxy in front of the origins named on the
 * command line (a group with health checks and outlier detection) and a forward proxy that may reach
 * 127.0.0.1 and tunnel to {@code SOAK_CONNECT_PORT} there (the soak's CONNECT target). Prints {@code READY <reverse port> <forward port>}, then
 * answers {@code sample} on standard input with {@code SAMPLE <heap after GC> <threads>}, and {@code
 * quit} by closing both proxies.
 */
public final class SoakProxies {
  private SoakProxies() {}

  public static void main(String[] args) throws Exception {
    UpstreamGroup.Builder group = UpstreamGroup.builder().name("origins")
        .healthCheck(HealthCheck.http("/health").interval(Duration.ofSeconds(1)).timeout(Duration.ofMillis(500)).build())
        .outlierDetection(OutlierDetection.builder().build());
    for (String origin : args) {
      group.add(origin);
    }
    try (ProxyServer reverse = ReverseProxy.builder().readTimeout(Duration.ofSeconds(10))
            .addRoute(Route.any().to(group.build())).build().start();
        ProxyServer forward = ForwardProxy.builder()
            .egress(EgressPolicy.denyAll().allowAddresses("127.0.0.1")
                .allowConnectPorts(Integer.parseInt(System.getenv("SOAK_CONNECT_PORT"))))
            .build().start()) {
      System.out.println("READY " + reverse.port() + " " + forward.port());
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null && !line.equals("quit")) {
        if (line.equals("sample")) {
          System.gc();
          long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
          System.out.println("SAMPLE " + heap + " " + ManagementFactory.getThreadMXBean().getThreadCount());
          System.out.flush();
        }
      }
    }
    System.out.println("CLOSED");
    System.out.flush();
  }
}
