package dev.narvault.cli.quickstart;

import dev.narvault.core.s3.S3Config;
import dev.narvault.core.s3.S3ObjectSource;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * An S3-compatible server on loopback (S3Proxy over a directory), with one bucket. S3Proxy's
 * threads are not daemons: always {@link #close()} it.
 */
public final class EmbeddedS3 implements AutoCloseable {
  public static final String ACCESS_KEY = "narvault";
  public static final String SECRET_KEY = "narvault-secret";
  public static final String REGION = "us-east-1";

  private final S3Proxy proxy;
  private final BlobStoreContext context;
  private final URI endpoint;
  private final String bucket;

  private EmbeddedS3(S3Proxy proxy, BlobStoreContext context, URI endpoint, String bucket) {
    this.proxy = proxy;
    this.context = context;
    this.endpoint = endpoint;
    this.bucket = bucket;
  }

  /** Starts on a free loopback port, storing objects under {@code dir}, and creates {@code bucket}. */
  public static EmbeddedS3 start(Path dir, String bucket) throws IOException {
    Files.createDirectories(dir);
    Properties properties = new Properties();
    properties.setProperty("jclouds.filesystem.basedir", dir.toString());
    BlobStoreContext context = ContextBuilder.newBuilder("filesystem").credentials("local", "local")
        .overrides(properties).build(BlobStoreContext.class);
    S3Proxy proxy = S3Proxy.builder().blobStore(context.getBlobStore())
        .endpoint(URI.create("http://127.0.0.1:0"))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
        .ignoreUnknownHeaders(true)
        .build();
    try {
      proxy.start();
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (!"STARTED".equals(proxy.getState())) {
        if (System.nanoTime() > deadline) {
          throw new IOException("S3Proxy did not start within 30 s (state " + proxy.getState() + ")");
        }
        Thread.sleep(10);
      }
      EmbeddedS3 s3 = new EmbeddedS3(proxy, context, URI.create("http://127.0.0.1:" + proxy.getPort()), bucket);
      try (S3ObjectSource client = new S3ObjectSource(s3.config())) {
        client.createBucket();
      }
      return s3;
    } catch (Exception e) {
      stopQuietly(proxy, context);
      throw e instanceof IOException io ? io : new IOException("cannot start S3Proxy: " + e, e);
    }
  }

  public URI endpoint() {
    return endpoint;
  }

  /** Client settings for this server, with its credentials. */
  public S3Config config() {
    return S3Config.of(endpoint, bucket, REGION).withCredentials(ACCESS_KEY, SECRET_KEY);
  }

  @Override
  public void close() {
    stopQuietly(proxy, context);
  }

  private static void stopQuietly(S3Proxy proxy, BlobStoreContext context) {
    try {
      proxy.stop();
    } catch (Exception e) {
      // stopping is best effort; the process may be exiting anyway
    } finally {
      context.close();
    }
  }
}
