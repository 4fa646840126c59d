package dev.gatehouse.proxy.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.function.Consumer;

/** Keys and tokens for the JWT tests, made with nimbus itself. */
final class Tokens {
  static final RSAKey RSA_A = rsa("key-a");
  static final RSAKey RSA_B = rsa("key-b");
  static final ECKey EC = ec("key-ec");
  static final String ISSUER = "https://issuer.test";
  static final String AUDIENCE = "orders-api";

  private Tokens() {}

  static RSAKey rsa(String kid) {
    try {
      return new RSAKeyGenerator(2048).keyID(kid).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ECKey ec(String kid) {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The public JWK Set of {@code keys}. */
  static String jwks(JWK... keys) {
    List<JWK> list = new ArrayList<>();
    for (JWK k : keys) {
      list.add(k.toPublicJWK());
    }
    return new JWKSet(list).toString();
  }

  /** Claims valid at {@code now} for an hour: iss, aud, sub alice. */
  static JWTClaimsSet.Builder claims(Instant now) {
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject("alice")
        .issueTime(Date.from(now))
        .notBeforeTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(3600)));
  }

  static String sign(JWK key, JWSAlgorithm alg, JWTClaimsSet claims) {
    return sign(key, alg, claims, h -> { });
  }

  static String sign(JWK key, JWSAlgorithm alg, JWTClaimsSet claims, Consumer<JWSHeader.Builder> header) {
    try {
      JWSSigner signer = key instanceof RSAKey ? new RSASSASigner((RSAKey) key)
          : key instanceof ECKey ? new ECDSASigner((ECKey) key)
          : new MACSigner(key.toOctetSequenceKey());
      JWSHeader.Builder h = new JWSHeader.Builder(alg).keyID(key.getKeyID());
      header.accept(h);
      SignedJWT jwt = new SignedJWT(h.build(), claims);
      jwt.sign(signer);
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static String rs256(RSAKey key, JWTClaimsSet claims) {
    return sign(key, JWSAlgorithm.RS256, claims);
  }
}
