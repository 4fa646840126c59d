package dev.gatehouse.proxy.testsupport;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds public signatures in an API package that mention engine or internal types. The public API must
 * not expose Undertow, XNIO or {@code .internal.} classes, so they can change freely.
 */
public final class PublicApi {
  private PublicApi() {}

  /** Violations in the package of {@code anchor} (its public and protected members), empty if clean. */
  public static List<String> violations(Class<?> anchor) throws IOException, URISyntaxException, ClassNotFoundException {
    String pkg = anchor.getPackageName();
    Path root = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
    Path dir = root.resolve(pkg.replace('.', File.separatorChar));
    List<String> problems = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (!name.endsWith(".class")) {
          continue;
        }
        Class<?> c = Class.forName(pkg + "." + name.substring(0, name.length() - 6), false, anchor.getClassLoader());
        if (!isVisible(c)) {
          continue;
        }
        check(problems, c.getName() + " extends", c.getGenericSuperclass());
        for (Type t : c.getGenericInterfaces()) {
          check(problems, c.getName() + " implements", t);
        }
        for (Method m : c.getDeclaredMethods()) {
          if (isVisible(m.getModifiers()) && !m.isSynthetic()) {
            check(problems, c.getName() + "." + m.getName() + " returns", m.getGenericReturnType());
            for (Type p : m.getGenericParameterTypes()) {
              check(problems, c.getName() + "." + m.getName() + " takes", p);
            }
            for (Type e : m.getGenericExceptionTypes()) {
              check(problems, c.getName() + "." + m.getName() + " throws", e);
            }
          }
        }
        for (Constructor<?> k : c.getDeclaredConstructors()) {
          if (isVisible(k.getModifiers())) {
            for (Type p : k.getGenericParameterTypes()) {
              check(problems, c.getName() + "(...) takes", p);
            }
          }
        }
        for (Field fl : c.getDeclaredFields()) {
          if (isVisible(fl.getModifiers())) {
            check(problems, c.getName() + "." + fl.getName() + " is", fl.getGenericType());
          }
        }
      }
    }
    return problems;
  }

  private static boolean isVisible(Class<?> c) {
    if (!Modifier.isPublic(c.getModifiers())) {
      return false;
    }
    return c.getDeclaringClass() == null || isVisible(c.getDeclaringClass());
  }

  private static boolean isVisible(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  private static void check(List<String> problems, String where, Type t) {
    if (t == null) {
      return;
    }
    String s = t.getTypeName();
    if (s.contains("io.undertow.") || s.contains("org.xnio.") || s.contains(".internal.")) {
      problems.add(where + " " + s);
    }
  }
}
