package dev.gatehouse.proxy.internal.cache;

import dev.gatehouse.proxy.ProxyExchange;
import dev.gatehouse.proxy.cache.CacheStore;
import dev.gatehouse.proxy.cache.UseStale;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The immutable settings of one {@code HttpCache}.
 *
 * @param targetedFields lower-case names of the targeted cache-control fields, in precedence order
 * @param surrogateKeyField the response field with surrogate keys, or null for none
 */
public record CacheSettings(
    String name,
    CacheStore store,
    long maxObjectSize,
    double heuristicFraction,
    Duration heuristicCap,
    boolean storeSetCookie,
    List<String> targetedFields,
    String surrogateKeyField,
    Set<UseStale> useStale,
    Duration useStaleLimit,
    Duration collapseTimeout,
    Duration hitForMiss,
    BiFunction<ProxyExchange, String, String> keyFunction,
    InstantSource clock) {}
