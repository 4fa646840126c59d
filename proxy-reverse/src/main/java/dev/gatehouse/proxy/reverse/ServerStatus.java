package dev.gatehouse.proxy.reverse;

/**
 * A snapshot of one server of an {@link UpstreamGroup}, from {@link UpstreamGroup#status()}.
 *
 * @param uri the server, as added, e.g. {@code http://app-1.internal:8080}
 * @param weight its weight
 * @param state whether it gets new requests
 * @param activeRequests requests it is serving now (sent and not yet completely answered)
 * @param consecutiveFailures failures in a row seen by outlier detection
 * @param ejections how many times outlier detection ejected it (the ejection time grows with this)
 */
public record ServerStatus(String uri, int weight, ServerState state, int activeRequests, int consecutiveFailures,
    int ejections) {}
