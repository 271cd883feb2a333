/**
 * Access to the binary cache's object store. {@link dev.narvault.core.s3.ObjectSource} is the
 * seam; {@link dev.narvault.core.s3.S3ObjectSource} speaks S3 through the AWS SDK (sync client,
 * Apache 5 HTTP client), to AWS or any S3-compatible server.
 */
package dev.narvault.core.s3;
