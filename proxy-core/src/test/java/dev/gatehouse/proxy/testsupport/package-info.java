/**
 * Test support shared by the modules' tests (proxy-core's test-jar holds this package only): a proxy
 * and raw HTTP/1.1 and HTTP/2 clients and upstreams that can send and answer what no well-behaved
 * library would, ready-made clients, a listener that records what it sees, a look at a built proxy's
 * engine, the public-API signature check and the fuzz helpers.
 *
 * <p>For Gatehouse's own tests only: not published as API, and it may change at any time. Users test
 * their filters with the public {@code dev.gatehouse.proxy.testing.FilterHarness}.
 */
package dev.gatehouse.proxy.testsupport;
