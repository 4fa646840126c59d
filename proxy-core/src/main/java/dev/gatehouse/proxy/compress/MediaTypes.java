package dev.gatehouse.proxy.compress;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/** Media-type patterns such as {@code text/*} or {@code application/*+json}. */
final class MediaTypes {
  private static final Pattern SYNTAX = Pattern.compile("[a-z0-9*][a-z0-9!#$&^_.+*-]*/[a-z0-9*][a-z0-9!#$&^_.+*-]*");
  private final List<Pattern> patterns;

  private MediaTypes(List<Pattern> patterns) {
    this.patterns = patterns;
  }

  static MediaTypes of(List<String> globs, String setting) {
    Pattern[] out = new Pattern[globs.size()];
    for (int i = 0; i < out.length; i++) {
      String g = Objects.requireNonNull(globs.get(i), setting).trim().toLowerCase(Locale.ROOT);
      if (!SYNTAX.matcher(g).matches()) {
        throw new IllegalArgumentException(setting + ": \"" + globs.get(i)
            + "\" (expected: a media type such as text/html, text/* or application/*+json)");
      }
      StringBuilder re = new StringBuilder();
      for (char c : g.toCharArray()) {
        if (c == '*') {
          re.append("[^/]*");
        } else {
          re.append(Pattern.quote(String.valueOf(c)));
        }
      }
      out[i] = Pattern.compile(re.toString());
    }
    return new MediaTypes(List.of(out));
  }

  /** Whether the lower-case media type {@code type} (no parameters) matches a pattern. */
  boolean matches(String type) {
    for (Pattern p : patterns) {
      if (p.matcher(type).matches()) {
        return true;
      }
    }
    return false;
  }
}
