package dev.gatehouse.proxy.internal.http1;

import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns header-name bytes into Undertow's shared {@link HttpString} constants without creating a
 * String or hashing one: a table indexed by length and first letter, compared case-insensitively.
 */
final class HeaderNames {
  private static final HttpString[][][] TABLE = new HttpString[40][27][];

  static {
    List<HttpString>[][] lists = newLists();
    for (Field f : Headers.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == HttpString.class) {
        try {
          HttpString h = (HttpString) f.get(null);
          int len = h.length();
          if (len > 0 && len < TABLE.length) {
            lists[len][slot(h.byteAt(0))].add(h);
          }
        } catch (IllegalAccessException ignored) {
          // public constants only
        }
      }
    }
    for (int i = 0; i < TABLE.length; i++) {
      for (int j = 0; j < 27; j++) {
        TABLE[i][j] = lists[i][j].toArray(new HttpString[0]);
      }
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array
  private static List<HttpString>[][] newLists() {
    List<HttpString>[][] l = new List[TABLE.length][27];
    for (int i = 0; i < TABLE.length; i++) {
      for (int j = 0; j < 27; j++) {
        l[i][j] = new ArrayList<>(2);
      }
    }
    return l;
  }

  private HeaderNames() {}

  private static int slot(byte b) {
    int c = b | 0x20;
    return c >= 'a' && c <= 'z' ? c - 'a' : 26;
  }

  /** The header name in {@code data[from, from+len)}: a shared constant when known, else a new one. */
  static HttpString of(byte[] data, int from, int len) {
    if (len < TABLE.length) {
      for (HttpString h : TABLE[len][slot(data[from])]) {
        if (matches(h, data, from, len)) {
          return h;
        }
      }
    }
    return new HttpString(new String(data, from, len, StandardCharsets.ISO_8859_1));
  }

  private static boolean matches(HttpString h, byte[] data, int from, int len) {
    for (int i = 0; i < len; i++) {
      byte a = h.byteAt(i);
      byte b = data[from + i];
      if (a != b && ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' || (a | 0x20) > 'z')) {
        return false;
      }
    }
    return true;
  }
}
