package dev.gatehouse.proxy.testing;

import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.internal.http1.Http;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/** {@link HttpHeaders} in memory, with the proxy's own checks on names and values. */
final class HarnessHeaders implements HttpHeaders {
  /** Lower-case name to the name as first seen and the values. */
  private final Map<String, Field> fields = new LinkedHashMap<>();

  private static final class Field {
    final String name;
    final List<String> values = new ArrayList<>(1);

    Field(String name) {
      this.name = name;
    }
  }

  HarnessHeaders() {}

  HarnessHeaders(HttpHeaders other) {
    for (String name : other.names()) {
      for (String v : other.getAll(name)) {
        add(name, v);
      }
    }
  }

  @Override
  public Optional<String> get(String name) {
    Field f = fields.get(key(name));
    return f == null || f.values.isEmpty() ? Optional.empty() : Optional.of(f.values.get(0));
  }

  @Override
  public List<String> getAll(String name) {
    Field f = fields.get(key(name));
    return f == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(f.values));
  }

  @Override
  public boolean contains(String name) {
    return fields.containsKey(key(name));
  }

  @Override
  public HttpHeaders set(String name, String value) {
    String v = check(name, value);
    Field f = new Field(fields.containsKey(key(name)) ? fields.get(key(name)).name : name);
    f.values.add(v);
    fields.put(key(name), f);
    return this;
  }

  @Override
  public HttpHeaders add(String name, String value) {
    String v = check(name, value);
    fields.computeIfAbsent(key(name), k -> new Field(name)).values.add(v);
    return this;
  }

  @Override
  public HttpHeaders remove(String name) {
    fields.remove(key(name));
    return this;
  }

  @Override
  public Set<String> names() {
    Set<String> out = new LinkedHashSet<>();
    for (Field f : fields.values()) {
      out.add(f.name);
    }
    return Collections.unmodifiableSet(out);
  }

  @Override
  public int size() {
    int n = 0;
    for (Field f : fields.values()) {
      n += f.values.size();
    }
    return n;
  }

  /** A read-only copy: name as first seen to values. */
  Map<String, List<String>> toMap() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (Field f : fields.values()) {
      out.put(f.name, List.copyOf(f.values));
    }
    return Collections.unmodifiableMap(out);
  }

  private static String key(String name) {
    return Objects.requireNonNull(name, "name").toLowerCase(Locale.ROOT);
  }

  private static String check(String name, String value) {
    Http.checkName(name);
    return Http.checkValue(name, value).strip();
  }

  @Override
  public String toString() {
    return toMap().toString();
  }
}
