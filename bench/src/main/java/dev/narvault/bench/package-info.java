/**
 * JMH benchmarks. {@link dev.narvault.bench.CodecBenchmark} compares the codecs with each other
 * and with a plain memory copy; {@link dev.narvault.bench.CodecReport} runs it and prints the
 * table of {@code docs/performance.md}.
 */
package dev.narvault.bench;
