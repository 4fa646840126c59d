package dev.gatehouse.proxy.auth;

import dev.gatehouse.proxy.Chain;
import dev.gatehouse.proxy.Filter;
import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.ProxyResponse;
import dev.gatehouse.proxy.internal.gateway.HeaderValuesParser;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.security.auth.x500.X500Principal;

/**
 * Makes the client certificate of a mutual-TLS connection the {@link Principal} (scheme {@code mtls}),
 * as Envoy and Istio ingress gateways do. The listener asks for and verifies the certificate ({@code
 * ServerTls.builder()...clientAuth(ClientAuth.OPTIONAL or REQUIRED, trustAnchors)}); this filter decides
 * who may pass:
 *
 * <pre>{@code
 * ReverseProxy.builder()
 *     .tls(ServerTls.builder().pem(chain, key).clientAuth(ServerTls.ClientAuth.OPTIONAL, Path.of("clients-ca.pem")).build())
 *     .addRoute(Route.pathPrefix("/internal")
 *         .addFilter(ClientCertificateAuth.builder().allowedNames("spiffe://example.org/ns/prod/sa/billing").build())
 *         .to("http://internal.example:8080"))
 * }</pre>
 *
 * <p>The principal's name is the certificate's first URI subject alternative name (a SPIFFE id), else
 * its first DNS name, else its subject (RFC 2253); its claims hold {@code subject}, {@code issuer},
 * {@code serial}, {@code uri}, {@code dns}, {@code email} (lists), {@code notAfter} (epoch seconds) and
 * {@code sha256} (of the DER certificate, hex). Without a certificate (listener in {@code OPTIONAL}) the
 * request gets 403 unless {@link Builder#required(boolean) required(false)}; with one whose names are not
 * among {@link Builder#allowedNames} (when given) it gets 403 too; the upstream is never contacted then.
 * A client's own {@code X-Forwarded-Client-Cert} is always removed; with {@link
 * Builder#forwardClientCert(boolean)} the proxy sends its own, in Envoy's format ({@code
 * Hash=...;Subject="...";URI=...;DNS=...}).
 */
public final class ClientCertificateAuth implements Filter {
  static final String XFCC = "X-Forwarded-Client-Cert";

  private final boolean required;
  private final Set<String> allowed;
  private final boolean forward;

  private ClientCertificateAuth(Builder b) {
    this.required = b.required;
    this.allowed = Set.copyOf(b.allowed);
    this.forward = b.forward;
  }

  /** A builder: a certificate required, any verified one allowed, nothing forwarded. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletionStage<ProxyResponse> filter(ProxyExchange exchange, Chain chain) {
    exchange.request().headers().remove(XFCC);
    List<X509Certificate> chainOfCerts = exchange.peerCertificates();
    if (chainOfCerts.isEmpty()) {
      if (!required) {
        return chain.proceed();
      }
      return CompletableFuture.completedFuture(ProxyResponse.of(403, "Forbidden: a client certificate is required\n"));
    }
    X509Certificate leaf = chainOfCerts.get(0);
    Map<String, Object> claims = claims(leaf);
    @SuppressWarnings("unchecked")
    List<String> uris = (List<String>) claims.get("uri");
    @SuppressWarnings("unchecked")
    List<String> dns = (List<String>) claims.get("dns");
    @SuppressWarnings("unchecked")
    List<String> emails = (List<String>) claims.get("email");
    String subject = (String) claims.get("subject");
    if (!allowed.isEmpty()) {
      boolean ok = allowed.contains(subject) || uris.stream().anyMatch(allowed::contains)
          || dns.stream().anyMatch(allowed::contains) || emails.stream().anyMatch(allowed::contains);
      if (!ok) {
        return CompletableFuture.completedFuture(ProxyResponse.of(403, "Forbidden: client certificate not allowed\n"));
      }
    }
    String name = !uris.isEmpty() ? uris.get(0) : !dns.isEmpty() ? dns.get(0) : subject;
    Challenges.establish(exchange, Principal.of(name, "mtls", claims));
    if (forward) {
      StringBuilder x = new StringBuilder("Hash=").append(claims.get("sha256"));
      if (isPlain(subject)) {
        x.append(";Subject=\"").append(subject.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
      }
      for (String u : uris) {
        if (isPlain(u) && u.indexOf(';') < 0 && u.indexOf(',') < 0) {
          x.append(";URI=").append(u);
        }
      }
      for (String d : dns) {
        if (isPlain(d) && d.indexOf(';') < 0 && d.indexOf(',') < 0) {
          x.append(";DNS=").append(d);
        }
      }
      exchange.request().headers().set(XFCC, x.toString());
    }
    return chain.proceed();
  }

  private static boolean isPlain(String s) {
    return HeaderValuesParser.isSafeValue(s) && s.chars().allMatch(c -> c >= 0x20 && c < 0x7F);
  }

  static Map<String, Object> claims(X509Certificate cert) {
    List<String> uris = new ArrayList<>();
    List<String> dns = new ArrayList<>();
    List<String> emails = new ArrayList<>();
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          Object type = san.get(0);
          Object value = san.get(1);
          if (!(value instanceof String)) {
            continue;
          }
          if (Integer.valueOf(6).equals(type)) {
            uris.add((String) value);
          } else if (Integer.valueOf(2).equals(type)) {
            dns.add((String) value);
          } else if (Integer.valueOf(1).equals(type)) {
            emails.add((String) value);
          }
        }
      }
    } catch (CertificateParsingException e) {
      // no usable names: the subject names the principal
    }
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("subject", cert.getSubjectX500Principal().getName(X500Principal.RFC2253));
    claims.put("issuer", cert.getIssuerX500Principal().getName(X500Principal.RFC2253));
    claims.put("serial", cert.getSerialNumber().toString(16));
    claims.put("uri", List.copyOf(uris));
    claims.put("dns", List.copyOf(dns));
    claims.put("email", List.copyOf(emails));
    claims.put("notAfter", cert.getNotAfter().getTime() / 1000);
    try {
      claims.put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded())));
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      claims.put("sha256", "");
    }
    return claims;
  }

  @Override
  public String toString() {
    return "ClientCertificateAuth(" + (allowed.isEmpty() ? "any verified certificate" : allowed) + ")";
  }

  /** Settings of {@link ClientCertificateAuth}. */
  public static final class Builder {
    private boolean required = true;
    private final Set<String> allowed = new LinkedHashSet<>();
    private boolean forward;

    private Builder() {}

    /**
     * Whether a request without a client certificate is refused (403).
     *
     * @implSpec Defaults to true (with
     * a listener in {@code REQUIRED} mode such requests never arrive).
     */
    public Builder required(boolean required) {
      this.required = required;
      return this;
    }

    /**
     * The certificates allowed, by any of their names: subject (RFC 2253, e.g. {@code CN=billing,O=Example}),
     * URI, DNS or e-mail subject alternative names; adds to the list.
     *
     * @implSpec Defaults to none: any
     * certificate the listener verified.
     */
    public Builder allowedNames(String... names) {
      Objects.requireNonNull(names, "allowedNames");
      for (String n : names) {
        Objects.requireNonNull(n, "name");
        if (n.isEmpty()) {
          throw new IllegalArgumentException("allowedNames: \"\" (expected: a subject or a subject alternative name)");
        }
        allowed.add(n);
      }
      return this;
    }

    /**
     * Whether the upstream gets {@code X-Forwarded-Client-Cert}.
     *
     * @implSpec Defaults to false.
     */
    public Builder forwardClientCert(boolean forward) {
      this.forward = forward;
      return this;
    }

    /** Builds the filter. */
    public ClientCertificateAuth build() {
      return new ClientCertificateAuth(this);
    }
  }
}
