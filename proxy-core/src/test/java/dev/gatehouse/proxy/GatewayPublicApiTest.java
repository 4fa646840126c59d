package dev.gatehouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatehouse.proxy.testsupport.PublicApi;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The gateway filter packages expose neither engine types nor the optional libraries' types: a class
 * that named nimbus, Caffeine, brotli4j or zstd-jni in a public signature would fail to load (or to be
 * used) without them.
 */
class GatewayPublicApiTest {
  static final List<Class<?>> ANCHORS = List.of(
      dev.gatehouse.proxy.compress.Compression.class,
      dev.gatehouse.proxy.auth.JwtAuth.class,
      dev.gatehouse.proxy.ratelimit.RateLimit.class,
      dev.gatehouse.proxy.access.Cors.class,
      dev.gatehouse.proxy.headers.HeaderRules.class);

  @Test
  void gatewayPackagesMentionNoEngineOrInternalTypes() throws Exception {
    for (Class<?> anchor : ANCHORS) {
      assertThat(PublicApi.violations(anchor)).as(anchor.getPackageName()).isEmpty();
    }
  }

  @Test
  void gatewayPackagesMentionNoOptionalLibraryTypes() throws Exception {
    List<String> problems = new ArrayList<>();
    for (Class<?> anchor : ANCHORS) {
      for (Class<?> c : classesOf(anchor)) {
        if (!Modifier.isPublic(c.getModifiers())) {
          continue;
        }
        for (Method m : c.getDeclaredMethods()) {
          if (Modifier.isPublic(m.getModifiers()) || Modifier.isProtected(m.getModifiers())) {
            String sig = m.toGenericString();
            if (sig.matches(".*(com\\.nimbusds|com\\.github\\.benmanes|com\\.aayushatharva|com\\.github\\.luben).*")) {
              problems.add(sig);
            }
          }
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  static List<Class<?>> classesOf(Class<?> anchor) throws Exception {
    String pkg = anchor.getPackageName();
    java.nio.file.Path root = java.nio.file.Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<Class<?>> out = new ArrayList<>();
    try (var files = java.nio.file.Files.list(root.resolve(pkg.replace('.', '/')))) {
      for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(".class")) {
          out.add(Class.forName(pkg + "." + name.substring(0, name.length() - 6), false, anchor.getClassLoader()));
        }
      }
    }
    return out;
  }
}
