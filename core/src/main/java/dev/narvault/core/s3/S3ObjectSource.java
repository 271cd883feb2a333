package dev.narvault.core.s3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Predicate;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link ObjectSource} over the AWS SDK v2 sync client. Checksums are computed only where S3
 * requires them, so S3-compatible servers that do not know the newer checksum headers work.
 * Only a 404 means "no such object": AWS answers 403 for a missing key when the credentials may
 * not list the bucket, so give them {@code s3:ListBucket}; a 403 is otherwise access trouble.
 */
public final class S3ObjectSource implements ObjectSource {
  private final S3Client client;
  private final String bucket;
  private final String location;

  public S3ObjectSource(S3Config config) {
    AwsCredentialsProvider credentials = config.accessKey().isPresent()
        ? StaticCredentialsProvider.create(
            AwsBasicCredentials.create(config.accessKey().get(), config.secretKey().orElseThrow()))
        : DefaultCredentialsProvider.builder().build();
    S3ClientBuilder builder = S3Client.builder()
        .httpClient(Apache5HttpClient.builder().build())
        .region(Region.of(config.region()))
        .credentialsProvider(credentials)
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    config.endpoint().ifPresent(uri -> builder.endpointOverride(uri).forcePathStyle(true));
    this.client = builder.build();
    this.bucket = config.bucket();
    this.location = config.endpoint().map(uri -> uri.toString().replaceAll("/+$", "") + "/" + bucket)
        .orElse("s3://" + bucket);
  }

  @Override
  public String location() {
    return location;
  }

  @Override
  public void list(String prefix, Consumer<StoredObject> each) throws IOException {
    try {
      ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).build();
      for (S3Object o : client.listObjectsV2Paginator(request).contents()) {
        each.accept(new StoredObject(o.key(), o.size(), o.lastModified()));
      }
    } catch (SdkException e) {
      throw new IOException("cannot list s3://" + bucket + "/" + prefix + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void listTopLevel(String startAfter, Predicate<StoredObject> each) throws IOException {
    try {
      ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).delimiter("/");
      if (!startAfter.isEmpty()) {
        request.startAfter(startAfter);
      }
      // The paginator asks for the next page only when this loop reaches it: stopping stops listing.
      for (S3Object o : client.listObjectsV2Paginator(request.build()).contents()) {
        if (!each.test(new StoredObject(o.key(), o.size(), o.lastModified()))) {
          return;
        }
      }
    } catch (SdkException e) {
      throw new IOException("cannot list s3://" + bucket + " after '" + startAfter + "': " + e.getMessage(), e);
    }
  }

  @Override
  public OpenedObject openObject(String key, java.util.Optional<String> range) throws IOException {
    try {
      var response = client.getObject(b -> {
        b.bucket(bucket).key(key);
        range.ifPresent(b::range);
      });
      var head = response.response();
      return new OpenedObject(response, head.contentLength(), java.util.Optional.ofNullable(head.contentType()),
          contentEncoding(head.contentEncoding()),
          java.util.Optional.ofNullable(head.contentRange()));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw new ObjectNotFoundException(key);
      }
      if (e.statusCode() == 416) {
        throw new RangeNotSatisfiableException(key, statLength(key));
      }
      throw new IOException("cannot read s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    } catch (SdkException e) {
      throw new IOException("cannot read s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
  }

  /**
   * The object's own content coding: {@code aws-chunked} describes how it was uploaded, not what it
   * is (S3 drops it, S3-compatible servers may keep it), so it is removed.
   */
  static java.util.Optional<String> contentEncoding(String stored) {
    if (stored == null) {
      return java.util.Optional.empty();
    }
    String kept = java.util.Arrays.stream(stored.split(",")).map(String::strip)
        .filter(c -> !c.isEmpty() && !c.equalsIgnoreCase("aws-chunked"))
        .collect(java.util.stream.Collectors.joining(", "));
    return kept.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(kept);
  }

  private long statLength(String key) {
    try {
      return stat(key).size();
    } catch (IOException e) {
      return -1;
    }
  }

  @Override
  public StoredObject stat(String key) throws IOException {
    try {
      var head = client.headObject(b -> b.bucket(bucket).key(key));
      return new StoredObject(key, head.contentLength(), head.lastModified());
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw new ObjectNotFoundException(key);
      }
      throw new IOException("cannot look at s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    } catch (SdkException e) {
      throw new IOException("cannot look at s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void put(String key, byte[] bytes, String contentType) throws IOException {
    put(key, RequestBody.fromBytes(bytes), contentType);
  }

  @Override
  public void put(String key, Path file, String contentType) throws IOException {
    put(key, RequestBody.fromFile(file), contentType);
  }

  @Override
  public void put(String key, Path file, String contentType, java.util.Optional<String> storageClass)
      throws IOException {
    put(key, RequestBody.fromFile(file), contentType, storageClass);
  }

  private void put(String key, RequestBody body, String contentType) throws IOException {
    put(key, body, contentType, java.util.Optional.empty());
  }

  private void put(String key, RequestBody body, String contentType, java.util.Optional<String> storageClass)
      throws IOException {
    try {
      client.putObject(b -> {
        b.bucket(bucket).key(key).contentType(contentType);
        storageClass.ifPresent(b::storageClass);
      }, body);
    } catch (SdkException | UncheckedIOException e) {
      throw new IOException("cannot write s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void delete(String key) throws IOException {
    try {
      client.deleteObject(b -> b.bucket(bucket).key(key));
    } catch (SdkException e) {
      throw new IOException("cannot delete s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void copyTo(String key, String toBucket, java.util.Optional<String> storageClass) throws IOException {
    try {
      client.copyObject(b -> {
        b.sourceBucket(bucket).sourceKey(key).destinationBucket(toBucket).destinationKey(key);
        storageClass.ifPresent(b::storageClass);
      });
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw new ObjectNotFoundException(key);
      }
      throw new IOException("cannot copy s3://" + bucket + "/" + key + " to s3://" + toBucket + ": " + e.getMessage(), e);
    } catch (SdkException e) {
      throw new IOException("cannot copy s3://" + bucket + "/" + key + " to s3://" + toBucket + ": " + e.getMessage(), e);
    }
  }

  /** Creates the bucket (tests and the quickstart, on an empty S3-compatible server). */
  public void createBucket() throws IOException {
    try {
      client.createBucket(b -> b.bucket(bucket));
    } catch (SdkException e) {
      throw new IOException("cannot create bucket " + bucket + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
