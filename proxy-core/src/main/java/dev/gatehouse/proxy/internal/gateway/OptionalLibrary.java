package dev.gatehouse.proxy.internal.gateway;

/**
 * Checks that an optional feature library is on the class path before a filter that needs it is built,
 * so that a missing artifact fails at {@code build()} with its Maven coordinates rather than later with
 * a {@link NoClassDefFoundError} on an I/O thread.
 */
public final class OptionalLibrary {
  private OptionalLibrary() {}

  /** Whether {@code className} can be loaded by the class loader that loaded the proxy. */
  public static boolean present(String className) {
    try {
      Class.forName(className, false, OptionalLibrary.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /**
   * Fails unless {@code className} can be loaded.
   *
   * @param feature what needs the library, e.g. {@code JwtAuth}
   * @param artifact its Maven coordinates, {@code groupId:artifactId}
   * @throws IllegalStateException naming the feature and the artifact
   */
  public static void require(String feature, String className, String artifact) {
    if (!present(className)) {
      throw new IllegalStateException(missing(feature, artifact));
    }
  }

  /** The message for a missing library: {@code JwtAuth needs com.nimbusds:nimbus-jose-jwt on the class path}. */
  public static String missing(String feature, String artifact) {
    return feature + " needs " + artifact + " on the class path (add it as a dependency)";
  }
}
