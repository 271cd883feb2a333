package dev.narvault.cli;

import dev.narvault.core.s3.S3Config;
import java.net.URI;
import picocli.CommandLine.Option;

/** The binary cache's S3 location; credentials come from the AWS SDK's default chain. */
final class S3Options {
  @Option(names = "--s3-endpoint", paramLabel = "URL",
      description = "S3-compatible endpoint (path-style), e.g. http://127.0.0.1:9000. Default: AWS.")
  URI endpoint;

  @Option(names = "--bucket", required = true, description = "Bucket holding the binary cache.")
  String bucket;

  @Option(names = "--region", defaultValue = "us-east-1", description = "S3 region (default: ${DEFAULT-VALUE}).")
  String region;

  S3Config toConfig() {
    return S3Config.of(endpoint, bucket, region);
  }
}
