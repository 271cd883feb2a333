package dev.narvault.cli;

import dev.narvault.core.s3.S3Config;
import java.net.URI;
import picocli.CommandLine.Option;

/**
 * The bucket archived NARs are put back into ({@code promote}, {@code restore}); the endpoint and
 * region as {@link S3Options} has them, credentials from the AWS SDK's default chain.
 */
final class S3TargetOptions {
  @Option(names = "--to-bucket", required = true, paramLabel = "BUCKET",
      description = "The bucket the NARs are put back into; for the gateway to serve them from S3 again, its "
          + "--bucket.")
  String bucket;

  @Option(names = "--s3-endpoint", paramLabel = "URL",
      description = "S3-compatible endpoint (path-style), e.g. http://127.0.0.1:9000. Default: AWS. Credentials "
          + "come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or an "
          + "instance role).")
  URI endpoint;

  @Option(names = "--region", defaultValue = "us-east-1", description = "S3 region (default: ${DEFAULT-VALUE}).")
  String region;

  S3Config toConfig() {
    return S3Config.of(endpoint, bucket, region);
  }
}
