/** Gatehouse reverse proxy: routes, upstream groups and load balancing, on the core's SPI. */
module dev.gatehouse.proxy.reverse {
  requires transitive dev.gatehouse.proxy.core;
  requires static org.jspecify;

  exports dev.gatehouse.proxy.reverse;
}
