package dev.gatehouse.proxy.forward;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Turns a destination host name into addresses. The forward proxy calls it once per request, on the
 * blocking executor (never on an I/O thread, so it may block), checks the {@link EgressPolicy} against
 * the answer and connects to exactly the address it checked: a name that answers differently a moment
 * later (DNS rebinding) cannot reach an address the policy refused. IP literals are not resolved.
 */
@FunctionalInterface
public interface HostResolver {

  /**
   * Resolves {@code host}.
   *
   * @return the addresses, in order of preference; not empty
   * @throws UnknownHostException if the name does not resolve
   */
  List<InetAddress> resolve(String host) throws UnknownHostException;

  /** The JVM's resolver ({@link InetAddress#getAllByName}, with the JVM's DNS cache). */
  static HostResolver system() {
    return host -> List.of(InetAddress.getAllByName(host));
  }
}
