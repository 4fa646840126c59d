/**
 * Gatehouse forward proxy: absolute-form requests, {@code CONNECT} tunnels, egress policy and TLS
 * interception, on the core's SPI. Its {@code internal} packages are not exported.
 */
module dev.gatehouse.proxy.forward {
  requires transitive dev.gatehouse.proxy.core;
  requires static org.jspecify;
  // TLS interception only: optional, loaded when interception is configured
  requires static com.github.benmanes.caffeine;
  requires static org.bouncycastle.pkix;
  requires static org.bouncycastle.provider;

  exports dev.gatehouse.proxy.forward;
}
