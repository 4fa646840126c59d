/**
 * Gateway filters that authenticate requests before they reach an upstream: API keys ({@link
 * dev.gatehouse.proxy.auth.ApiKeyAuth}), HTTP Basic ({@link dev.gatehouse.proxy.auth.BasicAuth}), JSON
 * Web Tokens with local or remote key sets ({@link dev.gatehouse.proxy.auth.JwtAuth}, needs {@code
 * com.nimbusds:nimbus-jose-jwt}) and client certificates ({@link
 * dev.gatehouse.proxy.auth.ClientCertificateAuth}). Each puts the authenticated {@link
 * dev.gatehouse.proxy.auth.Principal} on the exchange.
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.auth;

import org.jspecify.annotations.NullMarked;
