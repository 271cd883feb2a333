#!/usr/bin/env bash
# Regenerates the real-Nix fixtures in this directory with Debian's nix-bin (Nix 2.8), as root.
# Usage: bash regenerate.sh     (from anywhere; rewrites keys/ and cache-{xz,zstd,none}/ here)
#
# It makes a key pair, three store paths (a directory tree with an executable and a symlink, a
# 200 KiB file, and a path built by a derivation whose output references the tree), signs them,
# and exports one binary cache per compression. Tests read these files as Nix wrote them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NIX_CONFIG=$'experimental-features = nix-command\nbuild-users-group =\nsandbox = false\nsubstituters ='
command -v nix-store >/dev/null || { echo "nix-store not found: apt-get install nix-bin" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$here/keys"
nix-store --generate-binary-cache-key test-cache-1 "$here/keys/test-cache-1.sec" "$here/keys/test-cache-1.pub"

mkdir -p "$work/srcdir/sub"
printf 'hello from narvault\n' > "$work/srcdir/hello.txt"
printf '#!/bin/sh\necho run\n' > "$work/srcdir/sub/run.sh"
chmod +x "$work/srcdir/sub/run.sh"
ln -s hello.txt "$work/srcdir/link"
: > "$work/srcdir/empty"
srcdir=$(nix-store --add "$work/srcdir")

# 200 KiB of text that compresses, with enough variety that xz, zstd and none differ clearly.
for i in $(seq 1 4000); do printf 'line %05d of the big fixture %s\n' "$i" "$((i * 7919 % 10007))"; done > "$work/big.txt"
big=$(nix-store --add "$work/big.txt")

# builtins.storePath gives the string the store path as context, so the output's reference to the
# tree is registered (a plain string would not be).
cat > "$work/withref.nix" <<NIX
derivation {
  name = "withref";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [ "-c" "echo \${builtins.storePath "$srcdir"} > \$out" ];
}
NIX
withref=$(nix-build --no-out-link "$work/withref.nix")

paths=("$srcdir" "$big" "$withref")
nix store sign --key-file "$here/keys/test-cache-1.sec" "${paths[@]}"
for c in xz zstd none; do
  rm -rf "$here/cache-$c"
  nix copy --to "file://$here/cache-$c?compression=$c" "${paths[@]}"
done
printf '%s\n' "${paths[@]}" > "$here/paths.txt"
echo "fixtures written to $here"
