package dev.gatehouse.proxy.examples;

import dev.gatehouse.proxy.reverse.ReverseProxy;
import dev.gatehouse.proxy.reverse.ReverseProxyBuilder;
import dev.gatehouse.proxy.reverse.ReverseProxyServer;
import dev.gatehouse.proxy.reverse.Route;
import dev.gatehouse.proxy.reverse.UpstreamGroup;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes from a file, swapped while the proxy serves whenever the file changes, the way Traefik's file
 * provider behaves: a file that does not parse, or names a group that does not exist, is rejected, the
 * routes in use stay, and the reason is logged.
 *
 * <pre>
 * # groups: servers, comma-separated, each with an optional *weight
 * group.api.servers = http://127.0.0.1:8081, http://127.0.0.1:8082*3
 * group.web.servers = http://127.0.0.1:8083
 * # routes, matched in the order listed
 * routes = api, web
 * route.api.pathPrefix = /api
 * route.api.stripPrefix = true
 * route.api.group = api
 * route.web.group = web
 * </pre>
 *
 * A route takes {@code pathPrefix}, {@code path}, {@code host}, {@code methods} (comma-separated),
 * {@code stripPrefix} or {@code rewritePrefix}, and {@code group}; with no condition it matches every
 * request. A group named in the old and the new file stays the same object (its servers updated in
 * place when they changed), so it keeps its connections and health state across the swap.
 *
 * <p>Run it, then edit the file it prints and watch {@code http://127.0.0.1:9901/status}:
 *
 * <pre>
 * ROUTES_FILE=routes.properties java -cp proxy-examples/target/gatehouse-examples.jar \
 *     dev.gatehouse.proxy.examples.DynamicRoutesExample
 * </pre>
 */
public final class DynamicRoutesExample {
  private static final Logger log = LoggerFactory.getLogger(DynamicRoutesExample.class);

  private DynamicRoutesExample() {}

  /** Reads a routes file and applies it to a proxy when it has changed. Not thread-safe: one watcher thread. */
  static final class RoutesFile {
    private final Path file;
    /** The groups of the routes in use, by name, and the servers the file gave each. */
    private final Map<String, UpstreamGroup> groups = new HashMap<>();
    private final Map<String, Map<String, Integer>> servers = new HashMap<>();
    private String applied;

    RoutesFile(Path file) {
      this.file = Objects.requireNonNull(file, "file");
    }

    /** What a file asks for: routes, their groups by name, and each group's servers. */
    record Plan(List<Route> routes, Map<String, UpstreamGroup> groups, Map<String, Map<String, Integer>> servers) {}

    /**
     * Builds a proxy with the file's routes (a bad file is an error here, not a warning) and {@code
     * builder}'s other settings; later changes go through {@link #applyIfChanged}.
     */
    ReverseProxyServer build(ReverseProxyBuilder builder) throws IOException {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      Plan first = parse(text);
      first.routes().forEach(builder::addRoute);
      ReverseProxyServer proxy = builder.build();
      committed(first);
      applied = text;
      return proxy;
    }

    /**
     * Applies the file to {@code proxy} if its content changed since the last call; a bad file is logged
     * and leaves the proxy's routes as they were. Returns whether routes were replaced.
     */
    boolean applyIfChanged(ReverseProxyServer proxy) {
      String text;
      try {
        text = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        log.warn("routes file {} cannot be read ({}); keeping the {} routes in use", file, e.toString(),
            proxy.routes().size());
        return false;
      }
      if (text.equals(applied)) {
        return false;
      }
      applied = text;
      try {
        Plan plan = parse(text);
        proxy.routes(plan.routes()); // checked as a whole: a rejected list changes nothing
        committed(plan);
        log.info("routes file {} applied: {} routes", file, plan.routes().size());
        return true;
      } catch (RuntimeException e) {
        log.warn("routes file {} rejected, keeping the {} routes in use: {}", file, proxy.routes().size(),
            e.getMessage());
        return false;
      }
    }

    /**
     * The plan is in use: a group kept by name whose servers changed gets them in place (it keeps its
     * connections to the servers that stay, and their health state).
     */
    void committed(Plan plan) {
      for (Map.Entry<String, UpstreamGroup> e : plan.groups().entrySet()) {
        Map<String, Integer> wanted = plan.servers().get(e.getKey());
        Map<String, Integer> had = servers.get(e.getKey());
        if (had != null && groups.get(e.getKey()) == e.getValue() && !had.equals(wanted)) {
          e.getValue().setServers(wanted);
        }
      }
      groups.clear();
      groups.putAll(plan.groups());
      servers.clear();
      servers.putAll(plan.servers());
    }

    /** Parses the file's text without changing anything; groups known by name are reused. */
    Plan parse(String text) {
      Properties p = new Properties();
      try {
        p.load(new StringReader(text));
      } catch (IOException | IllegalArgumentException e) {
        throw new IllegalArgumentException("not a properties file: " + e.getMessage(), e);
      }
      Map<String, Map<String, Integer>> declared = new LinkedHashMap<>();
      for (String key : p.stringPropertyNames()) {
        if (key.startsWith("group.") && key.endsWith(".servers")) {
          String name = key.substring("group.".length(), key.length() - ".servers".length());
          declared.put(name, serverList(key, p.getProperty(key)));
        } else if (!key.equals("routes") && !key.startsWith("route.")) {
          throw new IllegalArgumentException(key + ": unknown setting (expected: routes, route.*, group.*.servers)");
        }
      }
      String list = p.getProperty("routes", "").trim();
      if (list.isEmpty()) {
        throw new IllegalArgumentException("routes: missing (expected: the route names, in matching order)");
      }
      Map<String, UpstreamGroup> used = new HashMap<>();
      Map<String, Map<String, Integer>> usedServers = new HashMap<>();
      List<Route> routes = new ArrayList<>();
      for (String id : list.split(",")) {
        id = id.trim();
        String prefix = "route." + id + ".";
        String groupName = p.getProperty(prefix + "group");
        if (groupName == null) {
          throw new IllegalArgumentException(prefix + "group: missing (expected: one of " + declared.keySet() + ")");
        }
        String name = groupName.trim();
        Map<String, Integer> members = declared.get(name);
        if (members == null) {
          throw new IllegalArgumentException(prefix + "group: \"" + groupName + "\" (expected: one of "
              + declared.keySet() + ")");
        }
        UpstreamGroup group = used.computeIfAbsent(name, n -> group(n, members));
        usedServers.put(name, members);
        routes.add(route(id, prefix, p).to(group));
      }
      return new Plan(routes, used, usedServers);
    }

    private UpstreamGroup group(String name, Map<String, Integer> members) {
      UpstreamGroup known = groups.get(name);
      if (known != null) {
        return known;
      }
      UpstreamGroup.Builder b = UpstreamGroup.builder().name(name);
      members.forEach(b::add);
      return b.build();
    }

    private static Map<String, Integer> serverList(String key, String value) {
      Map<String, Integer> out = new LinkedHashMap<>();
      for (String s : value.split(",")) {
        s = s.trim();
        if (s.isEmpty()) {
          continue;
        }
        int star = s.lastIndexOf('*');
        int weight = 1;
        if (star > 0) {
          try {
            weight = Integer.parseInt(s.substring(star + 1).trim());
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": \"" + s + "\" (expected: uri or uri*weight)");
          }
          s = s.substring(0, star).trim();
        }
        UpstreamGroup.builder().add(s, weight); // checks the URI and the weight, with their own messages
        if (out.put(s, weight) != null) {
          throw new IllegalArgumentException(key + ": \"" + s + "\" (expected: each server once)");
        }
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException(key + ": empty (expected: at least one server)");
      }
      return out;
    }

    private static Route.Builder route(String id, String prefix, Properties p) {
      Route.Builder b = Route.any();
      String v;
      if ((v = p.getProperty(prefix + "pathPrefix")) != null) {
        b.pathPrefix(v.trim());
      }
      if ((v = p.getProperty(prefix + "path")) != null) {
        b.path(v.trim());
      }
      if ((v = p.getProperty(prefix + "host")) != null) {
        b.host(v.trim());
      }
      if ((v = p.getProperty(prefix + "methods")) != null) {
        b.methods(v.trim().split("\\s*,\\s*"));
      }
      if (Boolean.parseBoolean(p.getProperty(prefix + "stripPrefix", "false").trim())) {
        b.stripPrefix();
      }
      if ((v = p.getProperty(prefix + "rewritePrefix")) != null) {
        b.rewritePrefix(v.trim());
      }
      return b.name(id);
    }
  }

  public static void main(String[] args) throws Exception {
    DemoBackends backends = DemoBackends.start("api-1", "api-2", "web");
    Path file = Path.of(System.getenv().getOrDefault("ROUTES_FILE", "routes.properties")).toAbsolutePath();
    if (!Files.exists(file)) {
      Files.writeString(file, "# edit me: the proxy picks up changes within a second\n"
          + "group.api.servers = " + backends.url(0) + ", " + backends.url(1) + "\n"
          + "group.web.servers = " + backends.url(2) + "\n"
          + "routes = api, web\n"
          + "route.api.pathPrefix = /api\n"
          + "route.api.stripPrefix = true\n"
          + "route.api.group = api\n"
          + "route.web.group = web\n");
    }
    RoutesFile routes = new RoutesFile(file);
    ReverseProxyServer proxy = routes.build(ReverseProxy.builder()
        .port(Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")))
        .adminPort(Integer.parseInt(System.getenv().getOrDefault("ADMIN_PORT", "9901"))))
        .start();

    ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "routes-file-watcher");
      t.setDaemon(true);
      return t;
    });
    watcher.scheduleWithFixedDelay(() -> routes.applyIfChanged(proxy), 1, 1, TimeUnit.SECONDS);

    System.out.println("DynamicRoutesExample on http://127.0.0.1:" + proxy.port() + ", routes from " + file);
    System.out.println("  curl -s http://127.0.0.1:" + proxy.port() + "/api/x | head -2");
    System.out.println("  edit " + file + ", then: curl -s http://127.0.0.1:"
        + proxy.adminAddress().orElseThrow().getPort() + "/status");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      watcher.shutdownNow();
      proxy.close();
      backends.close();
      stop.countDown();
    }));
    stop.await();
  }
}
