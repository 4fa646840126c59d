package dev.gatehouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatehouse.proxy.ForwardedHeaders;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ForwardProxyBuilderTest {

  @Test
  void aParentProxyWithoutAPortIsRefusedNamingTheSetting() {
    assertThatThrownBy(() -> ForwardProxy.builder().parentProxy("http://proxy.corp.example.com").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("parentProxy: \"http://proxy.corp.example.com\" (expected: a port, e.g. "
            + "http://proxy.corp.example.com:3128)");
  }

  @Test
  void aParentProxyWithAnotherSchemeIsRefusedAndItsPasswordIsNotShown() {
    assertThatThrownBy(() -> ForwardProxy.builder().parentProxy("socks5://user:pw@proxy:1080"))
        .hasMessage("parentProxy: \"socks5://***@proxy:1080\" (expected: an http:// proxy URI, "
            + "http://[user:password@]host:port)");
  }

  @Test
  void aBypassListWithoutAParentFailsAtBuild() {
    ForwardProxyBuilder b = ForwardProxy.builder().parentProxyBypass("localhost,.corp.example.com");
    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
        .hasMessage("parentProxyBypass: \"localhost,.corp.example.com\" without a parent proxy "
            + "(expected: parentProxy(...) or parentProxyFromEnvironment() as well)");
  }

  @Test
  void aBypassEntryThatCannotBeParsedIsRefused() {
    assertThatThrownBy(() -> ForwardProxy.builder().parentProxyBypass("localhost,bad..name"))
        .hasMessage("parentProxyBypass: \"bad..name\" (expected: host names, .domains, IP addresses or CIDR blocks, "
            + "comma-separated, e.g. localhost,127.0.0.1,.corp.example.com)");
  }

  @Test
  void aMalformedEnvironmentVariableFailsAtBuildNamingTheVariable() {
    ForwardProxyBuilder b = ForwardProxy.builder().parentProxyFromEnvironment(Map.of("https_proxy", "proxy.corp"));
    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
        .hasMessage("https_proxy: \"proxy.corp\" (expected: a port, e.g. http://proxy.corp:3128)");
  }

  @Test
  void anExplicitParentAndTheEnvironmentConflict() {
    ForwardProxyBuilder b = ForwardProxy.builder().parentProxy("http://p:3128").parentProxyFromEnvironment(Map.of());
    assertThatThrownBy(b::build).hasMessage("parentProxy: http://p:3128 conflicts with parentProxyFromEnvironment() "
        + "(expected: one of them)");
  }

  @Test
  void anonymousConflictsWithAViaPseudonymAndWithForwardedHeaders() {
    assertThatThrownBy(() -> ForwardProxy.builder().via("corp").anonymous().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("via: \"corp\" conflicts with anonymous() (expected: via(null) or no via setting with anonymous())");
    assertThatThrownBy(() -> ForwardProxy.builder().forwardedHeaders(ForwardedHeaders.BOTH).anonymous().build())
        .hasMessage("forwardedHeaders: BOTH conflicts with anonymous() (expected: NONE or no forwardedHeaders setting "
            + "with anonymous())");
    assertThatThrownBy(() -> ForwardProxy.builder().anonymous("Bad Header"))
        .hasMessage("anonymous: \"Bad Header\" (expected: a header field name)");
  }

  @Test
  void anAllowRuleThatCannotParseFailsBeforeTheProxyIsBuilt() {
    assertThatThrownBy(() -> ForwardProxy.builder().egress(EgressPolicy.denyAll().allowHosts("api..example.com")).build())
        .hasMessage("allowHosts: \"api..example.com\" (expected: a host name, *.domain or IP address, optionally with :port)");
  }

  @Test
  void otherSettingsAreCheckedAtOnce() {
    assertThatThrownBy(() -> ForwardProxy.builder().tunnelIdleTimeout(Duration.ZERO))
        .hasMessage("tunnelIdleTimeout: PT0S (expected: > 0)");
    assertThatThrownBy(() -> ForwardProxy.builder().proxyAuthentication("a\"b", ProxyAuthenticator.users(Map.of())))
        .hasMessage("realm: \"a\"b\" (expected: text without quotes, backslashes or control characters)");
    assertThatThrownBy(() -> ProxyAuthenticator.users(Map.of("a:b", "x")))
        .hasMessage("users: \"a:b\" (expected: a non-empty user name without ':')");
  }

  @Test
  void thePublicApiShowsNoUndertowXnioOrInternalTypes() {
    for (Class<?> c : new Class<?>[] {ForwardProxy.class, ForwardProxyBuilder.class, EgressPolicy.class,
        EgressDecision.class, ProxyAuthenticator.class, HostResolver.class, dev.gatehouse.proxy.AccessLog.class}) {
      for (Method m : c.getMethods()) {
        if (!Modifier.isPublic(m.getModifiers())) {
          continue;
        }
        assertThat(m.getGenericReturnType().getTypeName()).as(c.getSimpleName() + "." + m.getName())
            .doesNotContain("io.undertow", "org.xnio", ".internal.");
        for (Type p : m.getGenericParameterTypes()) {
          assertThat(p.getTypeName()).as(c.getSimpleName() + "." + m.getName())
              .doesNotContain("io.undertow", "org.xnio", ".internal.");
        }
      }
    }
  }
}
