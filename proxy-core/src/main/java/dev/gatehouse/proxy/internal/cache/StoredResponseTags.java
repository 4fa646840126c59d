package dev.gatehouse.proxy.internal.cache;

/** The syntax of a surrogate key (tag): visible characters, no spaces. */
final class StoredResponseTags {
  private StoredResponseTags() {}

  static boolean valid(String t) {
    if (t.isEmpty() || t.length() > 1024) {
      return false;
    }
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      if (c <= ' ' || c == 0x7F || c > 0xFF) {
        return false;
      }
    }
    return true;
  }
}
