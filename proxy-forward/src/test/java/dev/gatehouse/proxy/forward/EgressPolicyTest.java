package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class EgressPolicyTest {

  private static InetAddress ip(String literal) throws Exception {
    return InetAddress.getByName(literal); // literals only: no lookup
  }

  private static String rule(EgressPolicy p, String host, int port, String address, boolean connect) throws Exception {
    EgressDecision d = p.check(host, port, address == null ? null : ip(address), connect);
    return (d.allowed() ? "allowed: " : "denied: ") + d.rule();
  }

  @Test
  void publicDestinationsAreAllowedByDefault() throws Exception {
    EgressPolicy p = EgressPolicy.allowPublic();
    assertThat(rule(p, "example.com", 80, "93.184.216.34", false)).isEqualTo("allowed: default allow public");
    assertThat(rule(p, "example.com", 443, "93.184.216.34", true)).isEqualTo("allowed: default allow public");
  }

  @Test
  void reservedAddressesAreDeniedByDefaultWithTheRangeNamed() throws Exception {
    EgressPolicy p = EgressPolicy.allowPublic();
    assertThat(rule(p, "a.example", 80, "127.0.0.1", false)).isEqualTo("denied: default deny loopback 127.0.0.0/8");
    assertThat(rule(p, "a.example", 80, "::1", false)).isEqualTo("denied: default deny loopback ::1/128");
    assertThat(rule(p, "a.example", 80, "10.1.2.3", false)).isEqualTo("denied: default deny private 10.0.0.0/8");
    assertThat(rule(p, "a.example", 80, "172.20.0.1", false)).isEqualTo("denied: default deny private 172.16.0.0/12");
    assertThat(rule(p, "a.example", 80, "192.168.1.1", false)).isEqualTo("denied: default deny private 192.168.0.0/16");
    assertThat(rule(p, "a.example", 80, "fd12::1", false)).isEqualTo("denied: default deny unique local fc00::/7");
    assertThat(rule(p, "a.example", 80, "169.254.10.10", false)).isEqualTo("denied: default deny link-local 169.254.0.0/16");
    assertThat(rule(p, "a.example", 80, "fe80::1", false)).isEqualTo("denied: default deny link-local fe80::/10");
    assertThat(rule(p, "a.example", 80, "169.254.169.254", false))
        .isEqualTo("denied: default deny cloud metadata 169.254.169.254/32");
    assertThat(rule(p, "a.example", 80, "fd00:ec2::254", false))
        .isEqualTo("denied: default deny cloud metadata fd00:ec2::254/128");
    assertThat(rule(p, "a.example", 80, "0.0.0.0", false)).isEqualTo("denied: default deny unspecified 0.0.0.0/8");
    assertThat(rule(p, "a.example", 80, "::ffff:127.0.0.1", false)).isEqualTo("denied: default deny loopback 127.0.0.0/8");
    assertThat(rule(p, "localhost", 80, null, false)).isEqualTo("denied: default deny loopback name localhost");
    assertThat(rule(p, "127.0.0.1", 80, null, false)).isEqualTo("denied: default deny loopback 127.0.0.0/8");
  }

  @Test
  void onlyAnAddressRuleOpensAReservedAddress() throws Exception {
    EgressPolicy byName = EgressPolicy.allowPublic().allowHosts("internal.example");
    assertThat(rule(byName, "internal.example", 80, "10.0.0.5", false)).isEqualTo("denied: default deny private 10.0.0.0/8");

    EgressPolicy byCidr = EgressPolicy.allowPublic().allowAddresses("10.0.0.0/24");
    assertThat(rule(byCidr, "internal.example", 80, "10.0.0.5", false)).isEqualTo("allowed: allow address 10.0.0.0/24");
    assertThat(rule(byCidr, "internal.example", 80, "10.0.1.5", false)).isEqualTo("denied: default deny private 10.0.0.0/8");

    EgressPolicy byLiteral = EgressPolicy.allowPublic().allowHosts("127.0.0.1:8080");
    assertThat(rule(byLiteral, "127.0.0.1", 8080, "127.0.0.1", true)).isEqualTo("allowed: allow address 127.0.0.1:8080");
    assertThat(rule(byLiteral, "127.0.0.1", 8081, "127.0.0.1", false)).isEqualTo("denied: default deny loopback 127.0.0.0/8");
  }

  @Test
  void denyAllAllowsOnlyWhatRulesName() throws Exception {
    EgressPolicy p = EgressPolicy.denyAll().allowHosts("api.example.com", "*.cdn.example").allowHostsMatching("s3-[a-z0-9-]+\\.aws\\.example");
    assertThat(rule(p, "API.Example.com.", 443, "93.184.216.34", true)).isEqualTo("allowed: allow host api.example.com");
    assertThat(rule(p, "img.cdn.example", 80, "93.184.216.34", false)).isEqualTo("allowed: allow host *.cdn.example");
    assertThat(rule(p, "cdn.example", 80, "93.184.216.34", false))
        .isEqualTo("denied: default deny (no allow rule matches cdn.example:80)");
    assertThat(rule(p, "s3-eu-west-1.aws.example", 80, "93.184.216.34", false))
        .isEqualTo("allowed: allow host matching s3-[a-z0-9-]+\\.aws\\.example");
    assertThat(rule(p, "other.example", 80, "93.184.216.34", false))
        .isEqualTo("denied: default deny (no allow rule matches other.example:80)");
  }

  @Test
  void denyRulesWinOverAllowRules() throws Exception {
    EgressPolicy p = EgressPolicy.allowPublic().allowHosts("*.example.com").denyHosts("evil.example.com")
        .denyHostsMatching(".*\\.tracker\\..*").denyAddresses("203.0.113.0/24");
    assertThat(rule(p, "evil.example.com", 80, "93.184.216.34", false)).isEqualTo("denied: deny host evil.example.com");
    assertThat(rule(p, "ads.tracker.net", 80, "93.184.216.34", false))
        .isEqualTo("denied: deny host matching .*\\.tracker\\..*");
    assertThat(rule(p, "good.example.com", 80, "203.0.113.9", false)).isEqualTo("denied: deny address 203.0.113.0/24");
  }

  @Test
  void portsAreCheckedForPlainRequestsAndTunnelsSeparately() throws Exception {
    EgressPolicy p = EgressPolicy.allowPublic().allowPorts(80, 8080).allowConnectPorts(443, 8443)
        .allowHosts("git.example:22");
    assertThat(rule(p, "a.example", 25, "93.184.216.34", false)).isEqualTo("denied: deny port 25 (allowed: 80, 8080)");
    assertThat(rule(p, "a.example", 8080, "93.184.216.34", false)).isEqualTo("allowed: default allow public");
    assertThat(rule(p, "a.example", 22, "93.184.216.34", true)).isEqualTo("denied: deny connect port 22 (allowed: 443, 8443)");
    assertThat(rule(p, "git.example", 22, "93.184.216.34", true)).isEqualTo("allowed: allow host git.example:22");
    assertThat(rule(EgressPolicy.allowPublic(), "a.example", 8443, "93.184.216.34", true))
        .isEqualTo("denied: deny connect port 8443 (allowed: 443)");
  }

  @Test
  void rulesThatCannotBeParsedAreRefusedNamingTheRule() {
    assertThatThrownBy(() -> EgressPolicy.denyAll().allowHosts("a..example"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("allowHosts: \"a..example\" (expected: a host name, *.domain or IP address, optionally with :port)");
    assertThatThrownBy(() -> EgressPolicy.denyAll().allowHosts("*example.com"))
        .hasMessage("allowHosts: \"*example.com\" (expected: a host name, *.domain or IP address, optionally with :port)");
    assertThatThrownBy(() -> EgressPolicy.denyAll().allowHosts("example.com:0"))
        .hasMessage("allowHosts: \"example.com:0\" (expected: a port 1-65535 after the host)");
    assertThatThrownBy(() -> EgressPolicy.denyAll().denyHosts("http://example.com"))
        .hasMessage("denyHosts: \"http://example.com\" (expected: a port 1-65535 after the host)");
    assertThatThrownBy(() -> EgressPolicy.denyAll().allowAddresses("10.0.0.0/33"))
        .hasMessage("allowAddresses: 10.0.0.0/33 (expected: a prefix length 0-32)");
    assertThatThrownBy(() -> EgressPolicy.denyAll().allowAddresses("intranet"))
        .hasMessage("allowAddresses: intranet (expected: an IP address or CIDR block such as 10.0.0.0/8)");
    assertThatThrownBy(() -> EgressPolicy.denyAll().allowHostsMatching("[a-z"))
        .hasMessage("allowHostsMatching: \"[a-z\" (expected: a Java regular expression; Unclosed character class near index 3)");
    assertThatThrownBy(() -> EgressPolicy.denyAll().allowConnectPorts(443, 70000))
        .hasMessage("allowConnectPorts: 70000 (expected: 1-65535)");
  }

  @Test
  void policiesAreImmutable() throws Exception {
    EgressPolicy base = EgressPolicy.denyAll();
    EgressPolicy more = base.allowHosts("a.example");
    assertThat(base.check("a.example", 80, ip("93.184.216.34"), false).allowed()).isFalse();
    assertThat(more.check("a.example", 80, ip("93.184.216.34"), false).allowed()).isTrue();
  }
}
