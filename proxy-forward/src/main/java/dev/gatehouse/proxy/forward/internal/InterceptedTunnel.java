package dev.gatehouse.proxy.forward.internal;

import dev.gatehouse.proxy.AttributeKey;
import dev.gatehouse.proxy.forward.EgressDecision;
import dev.gatehouse.proxy.forward.UserPolicy;

/**
 * What the proxy knows about an intercepted tunnel, attached to every request decrypted from it: where
 * the {@code CONNECT} went (and the address the egress policy allowed), the server name the client's
 * TLS asked for, and who opened it.
 *
 * @param target the {@code CONNECT} target
 * @param decision the egress decision for it (its address is where requests go)
 * @param serverName the client's SNI, lower case, or null when it sent none
 * @param user the authenticated proxy user, or null
 * @param userPolicy the user's rules when the tunnel was opened, or null without user policies
 */
record InterceptedTunnel(Target target, EgressDecision decision, String serverName, String user,
    UserPolicy userPolicy) {
  /** Where the tunnel is found on each decrypted request: an attribute of the decrypted connection. */
  static final AttributeKey<InterceptedTunnel> KEY = AttributeKey.of("interceptedTunnelConnection");

  /** The name the certificate is minted for: the SNI, else the {@code CONNECT} host. */
  String certificateName() {
    return serverName != null ? serverName : target.host();
  }
}
