/**
 * Which NARs are used: request logs read into the catalog's access records, and the gateway's own
 * record of what it serves, so that "cold" means "not requested lately" rather than "uploaded
 * long ago". Start with {@link dev.narvault.core.access.AccessImport} (logs in, a batch at a time)
 * and {@link dev.narvault.core.access.RequestLogParser} (the formats); the gateway's side is
 * {@link dev.narvault.core.access.AccessRecorder}; what is kept is
 * {@link dev.narvault.core.catalog.AccessRecords}.
 */
package dev.narvault.core.access;
