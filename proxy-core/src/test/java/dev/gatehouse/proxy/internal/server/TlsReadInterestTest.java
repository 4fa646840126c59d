package dev.gatehouse.proxy.internal.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TlsReadInterestTest {
  /**
   * It reaches private fields of Undertow's SSL conduit: an Undertow upgrade that moves them must fail
   * here, not silently bring back two {@code epoll_ctl} per HTTPS request.
   */
  @Test
  void theUndertowOnTheClassPathIsOneItCanHandle() {
    assertThat(TlsReadInterest.available()).isTrue();
  }
}
