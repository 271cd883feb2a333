package dev.narvault.core.nix;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The few functions of the system's liblzma (xz-utils) that decoding a {@code .xz} file needs,
 * bound through the Foreign Function &amp; Memory API: {@code lzma_stream_decoder},
 * {@code lzma_code}, {@code lzma_memusage} and {@code lzma_end}, with the {@code lzma_stream}
 * struct and the constants of {@code lzma/base.h} and {@code lzma/container.h} they use.
 *
 * <p>The library is looked up once, by its soname, when this class is first used;
 * {@link #UNAVAILABLE} says why it could not be (another OS, no liblzma, native access denied),
 * and then no other member may be used. Only 64-bit platforms are bound: there {@code size_t}
 * and pointers are 8 bytes and the struct below has no padding.
 */
final class Liblzma {
  // lzma_ret (lzma/base.h).
  static final int OK = 0;
  static final int STREAM_END = 1;
  static final int UNSUPPORTED_CHECK = 3;
  static final int MEM_ERROR = 5;
  static final int MEMLIMIT_ERROR = 6;
  static final int FORMAT_ERROR = 7;
  static final int OPTIONS_ERROR = 8;
  static final int DATA_ERROR = 9;
  static final int BUF_ERROR = 10;

  // lzma_action (lzma/base.h).
  static final int RUN = 0;
  static final int FINISH = 3;

  // lzma_stream_decoder flags (lzma/container.h).
  static final int TELL_UNSUPPORTED_CHECK = 0x02;
  static final int CONCATENATED = 0x08;

  /** {@code lzma_stream} (lzma/base.h); {@code LZMA_STREAM_INIT} is all zeros. */
  static final StructLayout STREAM = MemoryLayout.structLayout(
      ADDRESS.withName("next_in"),
      JAVA_LONG.withName("avail_in"),
      JAVA_LONG.withName("total_in"),
      ADDRESS.withName("next_out"),
      JAVA_LONG.withName("avail_out"),
      JAVA_LONG.withName("total_out"),
      ADDRESS.withName("allocator"),
      ADDRESS.withName("internal"),
      MemoryLayout.sequenceLayout(4, ADDRESS).withName("reserved_ptr"),
      MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("reserved_int"),
      MemoryLayout.sequenceLayout(2, JAVA_INT).withName("reserved_enum"));
  static final long NEXT_IN = offset("next_in");
  static final long AVAIL_IN = offset("avail_in");
  static final long NEXT_OUT = offset("next_out");
  static final long AVAIL_OUT = offset("avail_out");

  private record Functions(MethodHandle streamDecoder, MethodHandle code, MethodHandle memusage,
      MethodHandle end, String version) {}

  private static final Functions FUNCTIONS;
  /** Why liblzma cannot be used in this JVM, or null when it can. */
  static final String UNAVAILABLE;

  static {
    Functions functions = null;
    String unavailable;
    try {
      functions = bind();
      unavailable = null;
    } catch (RuntimeException | LinkageError e) {
      unavailable = e.toString();
    }
    FUNCTIONS = functions;
    UNAVAILABLE = unavailable;
  }

  private Liblzma() {}

  @SuppressWarnings("restricted") // the reason for this class; the launcher enables native access
  private static Functions bind() {
    if (ADDRESS.byteSize() != 8) {
      throw new UnsupportedOperationException("liblzma is bound on 64-bit platforms only");
    }
    // By soname, as the dynamic linker finds it: no path of this machine's in the code.
    SymbolLookup lib = SymbolLookup.libraryLookup("liblzma.so.5", Arena.global());
    Linker linker = Linker.nativeLinker();
    MethodHandle version = linker.downcallHandle(lib.findOrThrow("lzma_version_string"),
        FunctionDescriptor.of(ADDRESS));
    String versionString;
    try {
      versionString = ((MemorySegment) version.invokeExact()).reinterpret(64).getString(0);
    } catch (Throwable t) {
      throw new IllegalStateException("lzma_version_string failed", t);
    }
    return new Functions(
        linker.downcallHandle(lib.findOrThrow("lzma_stream_decoder"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT)),
        linker.downcallHandle(lib.findOrThrow("lzma_code"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
        linker.downcallHandle(lib.findOrThrow("lzma_memusage"), FunctionDescriptor.of(JAVA_LONG, ADDRESS)),
        linker.downcallHandle(lib.findOrThrow("lzma_end"), FunctionDescriptor.ofVoid(ADDRESS)),
        versionString);
  }

  private static long offset(String field) {
    return STREAM.byteOffset(PathElement.groupElement(field));
  }

  static String version() {
    return FUNCTIONS.version();
  }

  /** {@code lzma_stream_decoder(strm, memlimit, flags)}: starts decoding .xz into {@code strm}. */
  static int streamDecoder(MemorySegment strm, long memoryLimitBytes, int flags) {
    try {
      return (int) FUNCTIONS.streamDecoder().invokeExact(strm, memoryLimitBytes, flags);
    } catch (Throwable t) {
      throw new IllegalStateException("lzma_stream_decoder failed", t);
    }
  }

  /** {@code lzma_code(strm, action)}: decodes from next_in/avail_in into next_out/avail_out. */
  static int code(MemorySegment strm, int action) {
    try {
      return (int) FUNCTIONS.code().invokeExact(strm, action);
    } catch (Throwable t) {
      throw new IllegalStateException("lzma_code failed", t);
    }
  }

  /** {@code lzma_memusage(strm)}: bytes the decoder needs (after LZMA_MEMLIMIT_ERROR: would need). */
  static long memusage(MemorySegment strm) {
    try {
      return (long) FUNCTIONS.memusage().invokeExact(strm);
    } catch (Throwable t) {
      throw new IllegalStateException("lzma_memusage failed", t);
    }
  }

  /** {@code lzma_end(strm)}: frees what liblzma allocated for {@code strm}; safe on a zeroed one. */
  static void end(MemorySegment strm) {
    try {
      FUNCTIONS.end().invokeExact(strm);
    } catch (Throwable t) {
      throw new IllegalStateException("lzma_end failed", t);
    }
  }
}
