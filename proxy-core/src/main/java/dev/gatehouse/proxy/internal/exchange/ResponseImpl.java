package dev.gatehouse.proxy.internal.exchange;

import dev.gatehouse.proxy.BodyTransformer;
import dev.gatehouse.proxy.HttpHeaders;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.upstream.BodyObserver;
import dev.gatehouse.proxy.internal.upstream.BodySource;
import dev.gatehouse.proxy.internal.upstream.UpstreamCall;
import io.undertow.util.HeaderMap;
import java.util.List;
import java.util.Objects;

/**
 * The engine's side of a {@link ProxyResponse} (the SharedSecrets pattern): the public class is final
 * and shows filters only its status, fields and transformers; the engine makes responses and reaches
 * their parts (the upstream call whose body streams, a body source, a local body) through the {@link
 * Parts} the public class installs when it is loaded. A response is one of: from an upstream (a call),
 * served by the proxy itself (a body source: a cache hit), or made locally (bytes, or none).
 */
public final class ResponseImpl {
  private static volatile Parts parts;

  private ResponseImpl() {}

  /** What {@link ProxyResponse} lets the engine do; installed once, by it. */
  public interface Parts {
    /** A response from an upstream whose body is still to be read (or a 101 to be tunnelled). */
    ProxyResponse upstream(int status, HeaderMap headers, UpstreamCall call, String protocol);

    /** A response the proxy serves with a body produced chunk by chunk, framed like an upstream's. */
    ProxyResponse served(int status, HeaderMap headers, BodySource source, String protocol);

    /** A scripted upstream's response in the in-memory filter harness: its own fields, a whole body. */
    ProxyResponse scripted(int status, HttpHeaders headers, byte[] body);

    /** The fields as the engine keeps them (null for a harness response). */
    HeaderMap headerMap(ProxyResponse r);

    /** A local or scripted body, or null. */
    byte[] body(ProxyResponse r);

    /** The upstream call whose body this response streams, or null. */
    UpstreamCall call(ProxyResponse r);

    /** The body source of a response the proxy serves itself, or null. */
    BodySource source(ProxyResponse r);

    /** The upstream's protocol (for {@code Via}), or null when made locally. */
    String protocol(ProxyResponse r);

    /** The registered body transformers, or null. */
    List<BodyTransformer> transformers(ProxyResponse r);
  }

  /** Called by {@link ProxyResponse} when it is loaded. */
  public static void install(Parts p) {
    parts = p;
  }

  private static Parts parts() {
    Parts p = parts;
    if (p == null) {
      try {
        Class.forName(ProxyResponse.class.getName(), true, ProxyResponse.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(e);
      }
      p = parts;
    }
    return p;
  }

  /** See {@link Parts#upstream}. */
  public static ProxyResponse upstream(int status, HeaderMap headers, UpstreamCall call, String protocol) {
    return parts().upstream(status, headers, call, protocol);
  }

  /** See {@link Parts#served}. */
  public static ProxyResponse served(int status, HeaderMap headers, BodySource source, String protocol) {
    return parts().served(status, headers, source, protocol);
  }

  /** See {@link Parts#scripted}. */
  public static ProxyResponse scripted(int status, HttpHeaders headers, byte[] body) {
    return parts().scripted(status, headers, body);
  }

  /** See {@link Parts#headerMap}. */
  public static HeaderMap headerMap(ProxyResponse r) {
    return parts().headerMap(r);
  }

  /** See {@link Parts#body}. */
  public static byte[] body(ProxyResponse r) {
    return parts().body(r);
  }

  /** See {@link Parts#call}. */
  public static UpstreamCall call(ProxyResponse r) {
    return parts().call(r);
  }

  /** See {@link Parts#source}. */
  public static BodySource source(ProxyResponse r) {
    return parts().source(r);
  }

  /** See {@link Parts#protocol}. */
  public static String protocol(ProxyResponse r) {
    return parts().protocol(r);
  }

  /** See {@link Parts#transformers}. */
  public static List<BodyTransformer> transformers(ProxyResponse r) {
    return parts().transformers(r);
  }

  /** Whether {@code r} streams an upstream call's body. */
  public static boolean hasCall(ProxyResponse r) {
    return parts().call(r) != null;
  }

  /**
   * Lets {@code observer} see an upstream response's body as it streams and learn whether it ended
   * completely or was cut. Call before the response is returned from the chain.
   */
  public static void observeBody(ProxyResponse r, BodyObserver observer) {
    call(r).observeBody(Objects.requireNonNull(observer, "observer"));
  }

  /**
   * Reads an upstream response's body to its end without sending it to the client (whose response is
   * another one), so the connection can be reused; an observer still sees it.
   */
  public static void discardBody(ProxyResponse r) {
    call(r).discardBody();
  }
}
