/** HTTP details narvault's servers share: byte ranges as RFC 9110 defines them. */
package dev.narvault.core.http;
