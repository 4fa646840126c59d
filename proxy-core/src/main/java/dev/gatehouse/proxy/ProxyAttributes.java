package dev.gatehouse.proxy;

/**
 * Attributes the proxy itself sets on an exchange, for filters, placeholders and logs to read.
 *
 * <pre>{@code
 * String route = exchange.attribute(ProxyAttributes.ROUTE).orElse("-");
 * }</pre>
 */
public final class ProxyAttributes {

  /**
   * The name of the route the request matched (reverse proxy), set before the route's filters run: a
   * global filter sees it once {@code chain.proceed()} has returned, a route filter at once. Absent when
   * no route matched, and in a forward proxy.
   */
  public static final AttributeKey<String> ROUTE = AttributeKey.of("route");

  private ProxyAttributes() {}
}
