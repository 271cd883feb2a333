# NixOS module for the narvault gateway: the Nix substituter that rebuilds archived NARs from the
# holders and proxies everything else from the S3 binary cache.
#
#   imports = [ ./gateway.nix ];
#   services.narvault-gateway = {
#     enable = true;
#     package = narvault;                       # your build of narvault (default: pkgs.narvault)
#     bucket = "nix-cache";
#     catalogFile = "/etc/secrets/catalog-url"; # a JDBC URL with its password, by LoadCredential
#     archivePublicKeys = [ "narvault-archive-1:…" ];
#   };
#
# `package` defaults to `pkgs.narvault`, which nixpkgs does not have: either set `package` to
# your derivation of this project's build (anything with a bin/narvault), or provide
# `pkgs.narvault` with an overlay (`nixpkgs.overlays = [ (final: prev: { narvault = …; }) ];`).
{ config, lib, pkgs, ... }:

let
  cfg = config.services.narvault-gateway;
  inherit (lib) mkEnableOption mkOption mkIf types;
  # The deprecated single key, if set, is one more trusted key.
  archiveKeys = cfg.archivePublicKeys ++ lib.optional (cfg.archivePublicKey != null) cfg.archivePublicKey;
  cacheDir = "/var/cache/narvault-gateway";
  options = {
    port = cfg.port;
    bind = cfg.bind;
    bucket = cfg.bucket;
    region = cfg.region;
    catalog = if cfg.catalogFile != null then { file = "\${CREDENTIALS_DIRECTORY}/catalog"; } else cfg.catalog;
    nar-cache-dir = cacheDir;
    nar-cache-size = cfg.narCacheSize;
    nar-spool-size = cfg.narSpoolSize;
  }
  // lib.optionalAttrs (cfg.s3Endpoint != null) { s3-endpoint = cfg.s3Endpoint; }
  // lib.optionalAttrs (archiveKeys != [ ]) { archive-public-key = archiveKeys; }
  // lib.optionalAttrs (cfg.trustedProxies != [ ]) { trusted-proxy = cfg.trustedProxies; }
  // lib.optionalAttrs (cfg.clientIpHeader != null) { client-ip-header = cfg.clientIpHeader; }
  // cfg.settings;
  configFile = pkgs.writeText "narvault-gateway.json" (builtins.toJSON options);
in
{
  options.services.narvault-gateway = {
    enable = mkEnableOption "the narvault gateway, a Nix substituter over the archive and the S3 cache";

    package = lib.mkPackageOption pkgs "narvault" {
      extraDescription = "Its bin/narvault runs the gateway. nixpkgs has no narvault: set this, or add narvault to pkgs by an overlay.";
    };

    port = mkOption {
      type = types.port;
      default = 8080;
      description = "TCP port Nix clients (or the CDN) fetch from.";
    };

    bind = mkOption {
      type = types.str;
      default = "127.0.0.1";
      description = "Address to listen on (behind a reverse proxy or CDN, loopback).";
    };

    bucket = mkOption {
      type = types.str;
      default = "";
      example = "nix-cache";
      description = "The S3 bucket of the binary cache (credentials: the AWS SDK's default chain, e.g. in the unit's environment).";
    };

    s3Endpoint = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "An S3-compatible endpoint instead of AWS.";
    };

    region = mkOption {
      type = types.str;
      default = "us-east-1";
      description = "The bucket's region.";
    };

    catalog = mkOption {
      type = types.str;
      default = "";
      description = "Catalog JDBC URL, when it holds no secret (use catalogFile for one with a password).";
    };

    catalogFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "A file holding the catalog JDBC URL (with its password), handed over as a systemd credential; wins over catalog.";
    };

    archivePublicKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "narvault-archive-1:…" ];
      description = "The archive's public keys: manifests not signed by one of them are not served. Both the old and the new key while the archive key is rotated (none: manifests are taken from the catalog unchecked).";
    };

    archivePublicKey = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Deprecated: use archivePublicKeys. A single archive key, added to archivePublicKeys when set.";
    };

    trustedProxies = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "203.0.113.0/24" "2001:db8::/32" ];
      description = "Address ranges (CIDR) of the reverse proxies or CDN in front of the gateway. Requests from them are charged to the client they name (clientIpHeader, else X-Forwarded-For read from the right over these ranges only); from anywhere else headers are ignored (docs/operations.md, Behind a CDN).";
    };

    clientIpHeader = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "Fastly-Client-IP";
      description = "A header the CDN's edge sets to the client's address, overwriting what the client sent; read only on requests from trustedProxies.";
    };

    narCacheSize = mkOption {
      type = types.str;
      default = "1GiB";
      description = "Disk kept for NARs rebuilt from holders, so a popular one is rebuilt once.";
    };

    narSpoolSize = mkOption {
      type = types.str;
      default = "4GiB";
      description = "Disk for NARs being rebuilt: each is filled from all its fragments at once, the file "
        + "being the reorder buffer. A NAR that finds no room is read one fragment after the other.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the gateway's port in the firewall.";
    };

    heap = mkOption {
      type = types.str;
      default = "512m";
      example = "2g";
      description = "The JVM's heap (-Xmx), passed through NARVAULT_JAVA_OPTS.";
    };

    memoryMax = mkOption {
      type = types.str;
      default = "1G";
      description = "systemd's MemoryMax for the unit: the heap plus the JVM's own (about 0.6 of the heap more), with room.";
    };

    settings = mkOption {
      type = types.attrsOf (types.oneOf [ types.str types.int types.bool (types.listOf types.str) ]);
      default = { };
      example = { misses-per-second = 50; };
      description = "Further options of `narvault gateway`, by long name without the dashes, written to its JSON config file over the typed options above.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.bucket != "";
        message = "services.narvault-gateway.bucket must be set: the gateway serves what is not archived from that S3 bucket.";
      }
      {
        assertion = cfg.clientIpHeader == null || cfg.trustedProxies != [ ];
        message = "services.narvault-gateway.clientIpHeader needs trustedProxies: from anyone else the header would name whatever the client likes.";
      }
      {
        assertion = cfg.catalog != "" || cfg.catalogFile != null;
        message = "services.narvault-gateway.catalog or catalogFile must be set: the archive's index is there.";
      }
    ];

    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ cfg.port ];

    systemd.services.narvault-gateway = {
      description = "narvault gateway";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = import ./service-hardening.nix { inherit (cfg) heap memoryMax; } // {
        ExecStart = "${cfg.package}/bin/narvault gateway --config ${configFile}";
        LoadCredential = lib.optional (cfg.catalogFile != null) "catalog:${toString cfg.catalogFile}";
        CacheDirectory = "narvault-gateway";
      };
    };
  };
}
