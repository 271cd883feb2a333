package dev.narvault.core.holder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** For fake holders in tests that speak HTTP/1.1 on raw sockets. */
public final class RawHttp {
  private RawHttp() {}

  /**
   * A request head read byte by byte up to and including its blank line, or what came before the
   * connection ended (then without the final {@code \r\n\r\n}).
   */
  public static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
    }
    return head.toString(StandardCharsets.US_ASCII);
  }
}
