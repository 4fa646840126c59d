package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class InterceptionPolicyTest {

  @Test
  void theBypassListWinsOverInterceptingEverything() {
    InterceptionPolicy p = InterceptionPolicy.interceptAll().bypass("*.bank.example", "health.example:443");

    assertThat(p.check("shop.example", 443, null)).isEqualTo(new InterceptionDecision(true, "intercept all"));
    assertThat(p.check("www.bank.example", 443, null))
        .isEqualTo(new InterceptionDecision(false, "bypass *.bank.example"));
    assertThat(p.check("health.example", 443, null))
        .isEqualTo(new InterceptionDecision(false, "bypass health.example:443"));
    assertThat(p.check("health.example", 8443, null).intercept()).isTrue();
  }

  @Test
  void theServerNameDecidesForATunnelToAnAddress() {
    InterceptionPolicy p = InterceptionPolicy.interceptAll().bypass("*.bank.example");

    assertThat(p.check("192.0.2.10", 443, "online.bank.example"))
        .isEqualTo(new InterceptionDecision(false, "bypass *.bank.example (TLS server name online.bank.example)"));
    assertThat(p.check("192.0.2.10", 443, "shop.example").intercept()).isTrue();
  }

  @Test
  void anInterceptListInterceptsOnlyWhatItNames() {
    InterceptionPolicy p = InterceptionPolicy.interceptNone().intercept("*.example.com", "10.1.2.3");

    assertThat(p.check("api.example.com", 443, null))
        .isEqualTo(new InterceptionDecision(true, "intercept *.example.com"));
    assertThat(p.check("10.1.2.3", 443, null)).isEqualTo(new InterceptionDecision(true, "intercept 10.1.2.3"));
    assertThat(p.check("192.0.2.1", 443, "www.example.com").intercept()).isTrue();
    assertThat(p.check("other.org", 443, null))
        .isEqualTo(new InterceptionDecision(false, "not on the intercept list"));
  }

  @Test
  void namesCompareWithoutCaseOrTrailingDot() {
    InterceptionPolicy p = InterceptionPolicy.interceptAll().bypass("Bank.Example");

    assertThat(p.check("BANK.example.", 443, null).intercept()).isFalse();
  }

  @Test
  void badPatternsAreNamed() {
    assertThatThrownBy(() -> InterceptionPolicy.interceptAll().bypass("not a host"))
        .hasMessage("bypass: \"not a host\" (expected: a host name, *.domain or IP address, optionally with :port)");
    assertThatThrownBy(() -> InterceptionPolicy.interceptNone().intercept("a.example:0"))
        .hasMessage("intercept: \"a.example:0\" (expected: a port 1-65535 after the host)");
    assertThatThrownBy(() -> InterceptionPolicy.interceptAll().check(null, 443, null)).hasMessage("host");
  }
}
