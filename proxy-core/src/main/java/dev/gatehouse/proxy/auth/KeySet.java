package dev.gatehouse.proxy.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verification keys, each with a ready verifier. A key only verifies the algorithms of its own type
 * (RSA keys RS and PS, EC keys the ES of their curve, secrets HS), so an RSA public key can never be
 * used as an HMAC secret; keys marked for encryption ({@code use: enc}) are left out. Immutable.
 */
final class KeySet {
  private static final Logger log = LoggerFactory.getLogger(KeySet.class);

  /** One usable key. */
  static final class Candidate {
    final String kid;
    final JWSAlgorithm alg;
    final JWSVerifier verifier;

    Candidate(String kid, JWSAlgorithm alg, JWSVerifier verifier) {
      this.kid = kid;
      this.alg = alg;
      this.verifier = verifier;
    }
  }

  private final List<Candidate> candidates;
  private final String description;

  private KeySet(List<Candidate> candidates, String description) {
    this.candidates = candidates;
    this.description = description;
  }

  /** Parses a JWK Set document; keys of other types or too weak are skipped (and logged). */
  static KeySet parse(String json, String source) throws ParseException {
    return of(JWKSet.parse(json).getKeys(), source);
  }

  static KeySet of(List<JWK> keys, String source) {
    List<Candidate> list = new ArrayList<>();
    for (JWK jwk : keys) {
      if (jwk.getKeyUse() != null && !KeyUse.SIGNATURE.equals(jwk.getKeyUse())) {
        continue;
      }
      JWSAlgorithm alg = jwk.getAlgorithm() == null ? null : JWSAlgorithm.parse(jwk.getAlgorithm().getName());
      try {
        JWSVerifier v;
        if (jwk instanceof RSAKey) {
          v = new RSASSAVerifier((RSAKey) jwk);
        } else if (jwk instanceof ECKey) {
          v = new ECDSAVerifier((ECKey) jwk);
        } else if (jwk instanceof OctetSequenceKey) {
          v = new MACVerifier((OctetSequenceKey) jwk);
        } else {
          log.debug("{}: key {} of type {} skipped (supported: RSA, EC, oct)", source, jwk.getKeyID(), jwk.getKeyType());
          continue;
        }
        list.add(new Candidate(jwk.getKeyID(), alg, v));
      } catch (JOSEException | RuntimeException e) {
        log.debug("{}: key {} skipped: {}", source, jwk.getKeyID(), e.getMessage());
      }
    }
    StringBuilder d = new StringBuilder();
    for (Candidate c : list) {
      d.append(d.length() == 0 ? "" : ",").append(c.kid);
    }
    return new KeySet(List.copyOf(list), d.toString());
  }

  boolean isEmpty() {
    return candidates.isEmpty();
  }

  /** Whether a key with this id is present. */
  boolean hasKid(String kid) {
    for (Candidate c : candidates) {
      if (kid.equals(c.kid)) {
        return true;
      }
    }
    return false;
  }

  /** The keys that may verify a token signed with {@code alg} and (when present) key id {@code kid}. */
  List<JWSVerifier> verifiersFor(String kid, JWSAlgorithm alg) {
    List<JWSVerifier> out = new ArrayList<>(1);
    for (Candidate c : candidates) {
      if (kid != null && c.kid != null && !kid.equals(c.kid)) {
        continue; // a key without an id may verify any token
      }
      if (c.alg != null && !c.alg.equals(alg)) {
        continue;
      }
      Set<JWSAlgorithm> supported = c.verifier.supportedJWSAlgorithms();
      if (supported.contains(alg)) {
        out.add(c.verifier);
      }
    }
    return out;
  }

  /** The key ids, for logs. */
  String kids() {
    return description;
  }
}
