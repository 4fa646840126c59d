/**
 * Response compression ({@link dev.gatehouse.proxy.compress.Compression}: gzip, and Brotli or zstd when
 * {@code com.aayushatharva.brotli4j:brotli4j} or {@code com.github.luben:zstd-jni} is present) and
 * request decompression ({@link dev.gatehouse.proxy.compress.RequestDecompression}), as streaming body
 * transformers.
 *
 * <p>Public API: applications may depend on it; it changes only with a {@code Breaking:} note in the
 * changelog. Nothing here is null unless marked {@code @Nullable}.
 */
@NullMarked
package dev.gatehouse.proxy.compress;

import org.jspecify.annotations.NullMarked;
