package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.HostResolver;
import dev.gatehouse.proxy.forward.ProxyAuthenticator;
import dev.gatehouse.proxy.forward.UserPolicies;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/** The forward proxy's own settings, fixed at {@code build()}; {@code userPolicies} may be null. */
public record ForwardSettings(
    Supplier<EgressPolicy> egress,
    HostResolver resolver,
    String realm,
    ProxyAuthenticator authenticator,
    boolean anonymous,
    List<String> alsoStripped,
    boolean transparent,
    ParentProxy parentHttp,
    ParentProxy parentConnect,
    NoProxy bypass,
    Duration tunnelIdleTimeout,
    UserPolicies userPolicies) {

  /** The parent proxy for this target, or null to go direct. */
  ParentProxy parentFor(Target t) {
    ParentProxy p = t.connect() ? parentConnect : parentHttp;
    if (p == null || bypass.bypasses(t.host(), t.port())) {
      return null;
    }
    return p;
  }
}
