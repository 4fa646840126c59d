package dev.gatehouse.proxy.headers;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyAttributes;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.auth.Principal;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds, sets, removes and renames header fields of requests (before they go upstream) and responses
 * (before they go to the client), in the order given.
 *
 * <pre>{@code
 * HeaderRules rules = HeaderRules.builder()
 *     .request(r -> r
 *         .set("X-Client-Ip", "${client_ip}")
 *         .set("X-Consumer", "${principal}")
 *         .remove("X-Internal-Debug")
 *         .rename("X-Legacy-Token", "X-Token"))
 *     .response(r -> r
 *         .remove("Server")
 *         .remove("X-Powered-By")
 *         .setIfAbsent("Cache-Control", "no-store")
 *         .add("X-Served-By", "gateway ${route}"))
 *     .build();
 * }</pre>
 *
 * <p>Values may contain placeholders: {@code ${client_ip}} ({@link ProxyExchange#realClientIp()}),
 * {@code ${request_id}} (set by {@link RequestId}), {@code ${principal}} (the {@link Principal}'s name)
 * and {@code ${route}} (the route's name, {@link ProxyAttributes#ROUTE}); one not known fails at {@link
 * Builder#build()}. A value with placeholders that are all empty for a request (no principal, no
 * route) is not set, and a value that would not be a valid field value is not set either (logged at DEBUG), so nothing a
 * client controls can split a header. Response rules apply to every response the filter sees, from the
 * upstream or made by filters after it.
 */
public final class HeaderRules implements Filter {
  private static final Logger log = LoggerFactory.getLogger(HeaderRules.class);
  private static final List<String> PLACEHOLDERS = List.of("client_ip", "request_id", "principal", "route");

  private final List<Op> request;
  private final List<Op> response;

  private HeaderRules(List<Op> request, List<Op> response) {
    this.request = List.copyOf(request);
    this.response = List.copyOf(response);
  }

  /** A builder with no rules. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    apply(request, exchange.request().headers(), exchange);
    if (response.isEmpty()) {
      return chain.proceed();
    }
    return chain.proceed().thenApply(r -> {
      apply(response, r.headers(), exchange);
      return r;
    });
  }

  private static void apply(List<Op> ops, HttpHeaders h, ProxyExchange exchange) {
    for (Op op : ops) {
      switch (op.kind) {
        case REMOVE:
          h.remove(op.name);
          break;
        case RENAME:
          List<String> values = h.getAll(op.name);
          if (!values.isEmpty()) {
            h.remove(op.name);
            for (String v : values) {
              h.add(op.target, v);
            }
          }
          break;
        default:
          if (op.kind == Kind.SET_IF_ABSENT && h.contains(op.name)) {
            break;
          }
          String value = op.value.render(exchange);
          if (value.isEmpty()) {
            break;
          }
          if (!HeaderValuesParser.isSafeValue(value)) {
            log.debug("header rule for {} skipped: the value is not a valid field value", op.name);
            break;
          }
          if (op.kind == Kind.ADD) {
            h.add(op.name, value);
          } else {
            h.set(op.name, value);
          }
      }
    }
  }

  @Override
  public String toString() {
    return "HeaderRules(" + request.size() + " request, " + response.size() + " response)";
  }

  private enum Kind { SET, SET_IF_ABSENT, ADD, REMOVE, RENAME }

  private static final class Op {
    final Kind kind;
    final String name;
    final String target;
    final Template value;

    Op(Kind kind, String name, String target, Template value) {
      this.kind = kind;
      this.name = name;
      this.target = target;
      this.value = value;
    }
  }

  /** A value with placeholders, parsed once. */
  private static final class Template {
    private final List<Object> parts; // String literals and Function<ProxyExchange, String>

    private Template(List<Object> parts) {
      this.parts = parts;
    }

    static Template parse(String setting, String text) {
      List<Object> parts = new ArrayList<>();
      int i = 0;
      StringBuilder literal = new StringBuilder();
      while (i < text.length()) {
        int start = text.indexOf("${", i);
        if (start < 0) {
          literal.append(text, i, text.length());
          break;
        }
        literal.append(text, i, start);
        int end = text.indexOf('}', start);
        if (end < 0) {
          throw new IllegalArgumentException(setting + ": \"" + text + "\" has an unclosed ${ (expected: ${name})");
        }
        String name = text.substring(start + 2, end);
        Function<ProxyExchange, String> f = placeholder(name);
        if (f == null) {
          throw new IllegalArgumentException(setting + ": unknown placeholder ${" + name + "} (expected: one of "
              + "${client_ip}, ${request_id}, ${principal}, ${route})");
        }
        if (literal.length() > 0) {
          parts.add(literal.toString());
          literal.setLength(0);
        }
        parts.add(f);
        i = end + 1;
      }
      if (literal.length() > 0) {
        parts.add(literal.toString());
      }
      return new Template(List.copyOf(parts));
    }

    private static Function<ProxyExchange, String> placeholder(String name) {
      switch (name) {
        case "client_ip":
          return ProxyExchange::realClientIp;
        case "request_id":
          return ex -> ex.attribute(RequestId.ATTRIBUTE).orElse("");
        case "principal":
          return ex -> Principal.of(ex).map(Principal::name).orElse("");
        case "route":
          return ex -> ex.attribute(ProxyAttributes.ROUTE).orElse("");
        default:
          return null;
      }
    }

    @SuppressWarnings("unchecked")
    String render(ProxyExchange exchange) {
      if (parts.size() == 1 && parts.get(0) instanceof String) {
        return (String) parts.get(0);
      }
      StringBuilder sb = new StringBuilder();
      boolean anyValue = false;
      for (Object p : parts) {
        if (p instanceof String) {
          sb.append((String) p);
        } else {
          String v = ((Function<ProxyExchange, String>) p).apply(exchange);
          if (!v.isEmpty()) {
            anyValue = true;
          }
          sb.append(v);
        }
      }
      return anyValue ? sb.toString() : "";
    }
  }

  /** The rules for one direction, in order. */
  public static final class Rules {
    private final String direction;
    private final List<Op> ops = new ArrayList<>();

    private Rules(String direction) {
      this.direction = direction;
    }

    /** Replaces every value of {@code name} with {@code value} (placeholders allowed). */
    public Rules set(String name, String value) {
      return value(Kind.SET, "set", name, value);
    }

    /** Sets {@code name} only when it is absent. */
    public Rules setIfAbsent(String name, String value) {
      return value(Kind.SET_IF_ABSENT, "setIfAbsent", name, value);
    }

    /** Adds a value to {@code name}, keeping the others. */
    public Rules add(String name, String value) {
      return value(Kind.ADD, "add", name, value);
    }

    /** Removes every value of {@code name}. */
    public Rules remove(String name) {
      ops.add(new Op(Kind.REMOVE, checkName("remove", name), null, null));
      return this;
    }

    /** Moves every value of {@code from} to {@code to} (after any {@code to} already has). */
    public Rules rename(String from, String to) {
      ops.add(new Op(Kind.RENAME, checkName("rename", from), checkName("rename", to), null));
      return this;
    }

    private Rules value(Kind kind, String op, String name, String value) {
      String setting = direction + "." + op + " " + name;
      checkName(direction + "." + op, name);
      Objects.requireNonNull(value, "value");
      if (!HeaderValuesParser.isSafeValue(value)) {
        throw new IllegalArgumentException(setting + ": a value with CR, LF, NUL or other control characters"
            + " (expected: a field value)");
      }
      ops.add(new Op(kind, name, null, Template.parse(setting, value)));
      return this;
    }

    private String checkName(String setting, String name) {
      Objects.requireNonNull(name, "name");
      if (!HeaderValuesParser.isToken(name)) {
        throw new IllegalArgumentException((setting.contains(".") ? setting : direction + "." + setting)
            + ": \"" + name + "\" (expected: a header name such as X-Client-Ip)");
      }
      return name;
    }
  }

  /** Settings of {@link HeaderRules}. */
  public static final class Builder {
    private final Rules request = new Rules("request");
    private final Rules response = new Rules("response");

    private Builder() {}

    /** Adds rules applied to requests before they go upstream. */
    public Builder request(Consumer<Rules> rules) {
      Objects.requireNonNull(rules, "request").accept(request);
      return this;
    }

    /** Adds rules applied to responses before they go to the client. */
    public Builder response(Consumer<Rules> rules) {
      Objects.requireNonNull(rules, "response").accept(response);
      return this;
    }

    /** Builds the filter. */
    public HeaderRules build() {
      if (request.ops.isEmpty() && response.ops.isEmpty()) {
        throw new IllegalStateException("rules: none (expected: request or response rules)");
      }
      return new HeaderRules(request.ops, response.ops);
    }
  }
}
