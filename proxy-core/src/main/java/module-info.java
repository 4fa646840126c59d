/**
 * Gatehouse core: the filter API, the exchange model, the shared builder and the engine. Applications
 * use the exported packages; the engine ({@code internal}) is not exported, and the SPI only to the
 * two direction modules.
 */
@SuppressWarnings("module") // the SPI is exported to modules built after this one
module dev.gatehouse.proxy.core {
  requires transitive org.slf4j;
  requires java.naming;
  requires static transitive org.jspecify; // annotations in the API signatures, as JSpecify advises
  requires transitive java.net.http;
  requires undertow.core;
  requires xnio.api;
  // feature libraries: optional, loaded only when the feature is used
  requires static com.aayushatharva.brotli4j;
  requires static com.github.benmanes.caffeine;
  requires static com.github.luben.zstd_jni;
  requires static com.nimbusds.jose.jwt;
  requires static io.opentelemetry.api;
  requires static io.opentelemetry.context;
  requires static micrometer.core;
  requires static micrometer.registry.prometheus;
  requires static org.conscrypt;

  exports dev.gatehouse.proxy;
  exports dev.gatehouse.proxy.access;
  exports dev.gatehouse.proxy.auth;
  exports dev.gatehouse.proxy.cache;
  exports dev.gatehouse.proxy.compress;
  exports dev.gatehouse.proxy.events;
  exports dev.gatehouse.proxy.headers;
  exports dev.gatehouse.proxy.metrics;
  exports dev.gatehouse.proxy.ratelimit;
  exports dev.gatehouse.proxy.testing;
  exports dev.gatehouse.proxy.spi to dev.gatehouse.proxy.reverse, dev.gatehouse.proxy.forward;
}
