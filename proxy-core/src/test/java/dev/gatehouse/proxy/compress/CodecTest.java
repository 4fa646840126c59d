package dev.gatehouse.proxy.compress;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The streaming codecs on their own, fed in uneven chunks, heap and direct. */
class CodecTest {

  static byte[] run(StreamEncoder e, byte[] data, int chunk, boolean direct) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < data.length; i += chunk) {
      int n = Math.min(chunk, data.length - i);
      ByteBuffer b = direct ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
      b.put(data, i, n).flip();
      ByteBuffer o = e.transform(b);
      assertThat(b.hasRemaining()).isFalse();
      byte[] a = new byte[o.remaining()];
      o.get(a);
      out.writeBytes(a);
    }
    ByteBuffer tail = e.finish();
    byte[] a = new byte[tail.remaining()];
    tail.get(a);
    out.writeBytes(a);
    return out.toByteArray();
  }

  @Test
  void everyEncoderRoundTripsWhateverTheChunkSize() throws Exception {
    byte[] data = CompressionTest.text(1_000_000, 9);
    for (int chunk : new int[] {1000, 16 * 1024, 100_000}) {
      for (boolean direct : new boolean[] {false, true}) {
        assertThat(CompressionTest.decode("gzip", run(new GzipCodec.Compressor(6, false), data, chunk, direct))).isEqualTo(data);
        assertThat(CompressionTest.decode("br", run(new BrotliCodec.Compressor(4, false), data, chunk, direct))).isEqualTo(data);
        assertThat(CompressionTest.decode("zstd", run(new ZstdCodec.Compressor(3, false), data, chunk, direct))).isEqualTo(data);
        assertThat(CompressionTest.decode("br", run(new BrotliCodec.Compressor(4, true), data, chunk, direct))).isEqualTo(data);
      }
    }
  }

  @Test
  void everyEncoderRoundTripsWithRandomChunkBoundaries() throws Exception {
    byte[] data = CompressionTest.text(3_000_000, 10);
    java.util.Random random = new java.util.Random(11);
    for (int round = 0; round < 5; round++) {
      for (String encoding : new String[] {"gzip", "br", "zstd"}) {
        StreamEncoder e = encoding.equals("gzip") ? new GzipCodec.Compressor(1, false)
            : encoding.equals("br") ? new BrotliCodec.Compressor(4, false) : new ZstdCodec.Compressor(3, false);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < data.length) {
          int n = Math.min(1 + random.nextInt(70_000), data.length - i);
          ByteBuffer b = random.nextBoolean() ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
          b.put(data, i, n).flip();
          i += n;
          ByteBuffer o = e.transform(b);
          byte[] a = new byte[o.remaining()];
          o.get(a);
          out.writeBytes(a);
        }
        ByteBuffer tail = e.finish();
        byte[] a = new byte[tail.remaining()];
        tail.get(a);
        out.writeBytes(a);
        assertThat(CompressionTest.decode(encoding, out.toByteArray())).as(encoding + " round " + round).isEqualTo(data);
      }
    }
  }

  @Test
  void aFlushedChunkDecodesBeforeTheStreamEnds() throws Exception {
    byte[] event = "data: first event\n\n".getBytes();
    for (StreamEncoder e : new StreamEncoder[] {new GzipCodec.Compressor(6, true), new BrotliCodec.Compressor(4, true),
        new ZstdCodec.Compressor(3, true)}) {
      ByteBuffer o = e.transform(ByteBuffer.wrap(event));
      byte[] a = new byte[o.remaining()];
      o.get(a);
      java.io.InputStream in = new java.io.ByteArrayInputStream(a);
      java.io.InputStream dec;
      if (e instanceof GzipCodec.Compressor) {
        dec = new java.util.zip.GZIPInputStream(in);
      } else if (e instanceof BrotliCodec.Compressor) {
        // brotli4j's BrotliInputStream reads ahead before handing out output: decode with our own decoder
        assertThat(decodeAvailable(new BrotliCodec.Decompressor(1 << 20), in, event.length)).isEqualTo(event);
        e.finish();
        continue;
      } else {
        dec = new com.github.luben.zstd.ZstdInputStream(in);
      }
      assertThat(dec.readNBytes(event.length)).as(e.getClass().getName()).isEqualTo(event);
      e.finish();
    }
  }

  /** Feeds what {@code in} has to {@code decoder} until {@code n} decoded bytes came out. */
  static byte[] decodeAvailable(StreamDecoder decoder, java.io.InputStream in, int n) throws java.io.IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[256];
    while (out.size() < n) {
      int r = in.read(buf);
      if (r < 0) {
        throw new java.io.EOFException("stream ended after " + out.size() + " decoded bytes");
      }
      ByteBuffer o = decoder.transform(ByteBuffer.wrap(buf, 0, r));
      byte[] a = new byte[o.remaining()];
      o.get(a);
      out.writeBytes(a);
    }
    return out.toByteArray();
  }
}
