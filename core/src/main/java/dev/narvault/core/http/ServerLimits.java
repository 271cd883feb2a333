package dev.narvault.core.http;

import java.time.Duration;

/**
 * What any narvault server allows one client, whoever it is: every server faces strangers
 * (holders are on the open internet; the gateway is public).
 *
 * @param maxConnections open connections at once; more are closed at once
 * @param maxConnectionsPerAddress open connections from one IP address
 * @param maxInitialLineLength request line, e.g. {@code GET /nar/… HTTP/1.1} (414 beyond)
 * @param maxHeaderSize all header lines together (431 beyond)
 * @param headerTimeout a new connection's first request must have arrived whole within this,
 *     (slowly dripped header lines); later requests on the connection within {@code idleTimeout}
 * @param idleTimeout a connection that neither sends nor takes a byte for this long is closed
 *     (a stalled upload, a client that stopped reading, an idle keep-alive connection)
 * @param maxPipelined requests a client may send ahead of their answers; they are answered in
 *     order, one at a time, and reading stops while they wait
 */
public record ServerLimits(int maxConnections, int maxConnectionsPerAddress, int maxInitialLineLength,
    int maxHeaderSize, Duration headerTimeout, Duration idleTimeout, int maxPipelined) {
  public ServerLimits {
    if (maxConnections < 1 || maxConnectionsPerAddress < 1 || maxInitialLineLength < 64 || maxHeaderSize < 256
        || maxPipelined < 1) {
      throw new IllegalArgumentException("server limits too small: " + maxConnections + " connections, "
          + maxConnectionsPerAddress + " per address, line " + maxInitialLineLength + ", headers " + maxHeaderSize
          + ", pipelined " + maxPipelined);
    }
    if (headerTimeout.isNegative() || headerTimeout.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("server timeouts must be positive");
    }
  }

  /**
   * Defaults for a public server: 4096 connections, 64 per address, 8 KiB request line, 16 KiB of
   * headers, 15 s for a new connection's first request, 60 s without progress, 16 pipelined.
   */
  public static ServerLimits defaults() {
    return new ServerLimits(4096, 64, 8 * 1024, 16 * 1024, Duration.ofSeconds(15), Duration.ofSeconds(60), 16);
  }

  public ServerLimits withConnections(int max, int perAddress) {
    return new ServerLimits(max, perAddress, maxInitialLineLength, maxHeaderSize, headerTimeout, idleTimeout,
        maxPipelined);
  }

  public ServerLimits withTimeouts(Duration header, Duration idle) {
    return new ServerLimits(maxConnections, maxConnectionsPerAddress, maxInitialLineLength, maxHeaderSize, header,
        idle, maxPipelined);
  }
}
