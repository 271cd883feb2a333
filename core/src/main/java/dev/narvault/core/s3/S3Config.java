package dev.narvault.core.s3;

import java.net.URI;
import java.util.Optional;

/**
 * Where the binary cache lives. {@code endpoint} overrides AWS's (for S3-compatible servers, with
 * path-style addressing); credentials come from the SDK's default chain unless given here.
 */
public record S3Config(Optional<URI> endpoint, String bucket, String region,
    Optional<String> accessKey, Optional<String> secretKey) {
  public S3Config {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("an S3 bucket is required");
    }
    if (region == null || region.isBlank()) {
      throw new IllegalArgumentException("an S3 region is required");
    }
    if (accessKey.isPresent() != secretKey.isPresent()) {
      throw new IllegalArgumentException("give both an access key and a secret key, or neither");
    }
  }

  public static S3Config of(URI endpoint, String bucket, String region) {
    return new S3Config(Optional.ofNullable(endpoint), bucket, region, Optional.empty(), Optional.empty());
  }

  public S3Config withCredentials(String access, String secret) {
    return new S3Config(endpoint, bucket, region, Optional.of(access), Optional.of(secret));
  }
}
