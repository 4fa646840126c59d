package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.internal.http1.Http;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.HttpString;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/** {@link HttpHeaders} over an Undertow {@link HeaderMap}, validating what filters set. */
public final class HeaderMapHeaders implements HttpHeaders {
  private final HeaderMap map;

  public HeaderMapHeaders(HeaderMap map) {
    this.map = map;
  }

  public HeaderMap map() {
    return map;
  }

  @Override
  public Optional<String> get(String name) {
    return Optional.ofNullable(map.getFirst(Objects.requireNonNull(name, "name")));
  }

  @Override
  public List<String> getAll(String name) {
    HeaderValues values = map.get(Objects.requireNonNull(name, "name"));
    if (values == null) {
      return List.of();
    }
    return Collections.unmodifiableList(new ArrayList<>(values));
  }

  @Override
  public boolean contains(String name) {
    return map.contains(Objects.requireNonNull(name, "name"));
  }

  @Override
  public HttpHeaders set(String name, String value) {
    map.put(checkName(name), checkValue(name, value));
    return this;
  }

  @Override
  public HttpHeaders add(String name, String value) {
    map.add(checkName(name), checkValue(name, value));
    return this;
  }

  @Override
  public HttpHeaders remove(String name) {
    map.remove(Objects.requireNonNull(name, "name"));
    return this;
  }

  @Override
  public Set<String> names() {
    Set<String> names = new LinkedHashSet<>();
    for (HttpString n : map.getHeaderNames()) {
      names.add(n.toString());
    }
    return Collections.unmodifiableSet(names);
  }

  @Override
  public int size() {
    return map.size();
  }

  @Override
  public String toString() {
    return map.toString();
  }

  static HttpString checkName(String name) {
    return HttpString.tryFromString(Http.checkName(name));
  }

  static String checkValue(String name, String value) {
    return Http.checkValue(name, value).strip();
  }
}
