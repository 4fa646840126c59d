/**
 * Runnable examples of the public API: a reverse proxy, an API gateway, a caching proxy, canary load
 * balancing, dynamic routes, resilient upstreams, TLS, a corporate egress proxy and a developer's
 * inspecting proxy, each a {@code main} that starts on its own; {@link
 * dev.gatehouse.proxy.examples.Demo} runs them together (the jar's main class), and the {@code Bench*}
 * and {@code Soak*} mains serve the benchmarks and the soak test.
 *
 * <p>These classes use only what users may use (the public packages of proxy-core, proxy-reverse and
 * proxy-forward: no {@code internal} package, no SPI), which {@code ArchitectureTest} checks. They are
 * meant to be read and copied, not depended on: the package is not a library and may change in any
 * release.
 */
package dev.gatehouse.proxy.examples;
