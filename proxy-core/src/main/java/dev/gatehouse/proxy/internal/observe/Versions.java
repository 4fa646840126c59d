package dev.gatehouse.proxy.internal.observe;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The Gatehouse version, from the jar's manifest or Maven's pom.properties. */
final class Versions {
  private static final String VERSION = find();

  private Versions() {}

  static String current() {
    return VERSION;
  }

  private static String find() {
    Package p = Versions.class.getPackage();
    if (p != null && p.getImplementationVersion() != null) {
      return p.getImplementationVersion();
    }
    try (InputStream in = Versions.class.getResourceAsStream(
        "/META-INF/maven/dev.gatehouse/proxy-core/pom.properties")) {
      if (in != null) {
        Properties props = new Properties();
        props.load(in);
        String v = props.getProperty("version");
        if (v != null && !v.isBlank()) {
          return v.trim();
        }
      }
    } catch (IOException | IllegalArgumentException e) {
      // fall through: not packaged
    }
    return "development";
  }
}
