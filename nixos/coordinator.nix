# NixOS module for the narvault coordinator (`narvault repair`): placement, liveness, audits,
# repair and garbage collection for the archive's holders.
#
#   imports = [ ./coordinator.nix ];
#   services.narvault-coordinator = {
#     enable = true;
#     package = narvault;                            # your build of narvault (default: pkgs.narvault)
#     coordinatorKeyFile = "/etc/secrets/coordinator.key";   # handed over by LoadCredential
#     catalogFile = "/etc/secrets/catalog-url";     # a JDBC URL with its password, same way
#     workerPublicKeys = [ "narvault-worker-1:…" ];
#     openFirewall = true;
#   };
#
# `package` defaults to `pkgs.narvault`, which nixpkgs does not have: either set `package` to
# your derivation of this project's build (anything with a bin/narvault), or provide
# `pkgs.narvault` with an overlay (`nixpkgs.overlays = [ (final: prev: { narvault = …; }) ];`).
{ config, lib, pkgs, ... }:

let
  cfg = config.services.narvault-coordinator;
  inherit (lib) mkEnableOption mkOption mkIf types;
  # The deprecated single key, if set, is one more trusted key.
  archiveKeys = cfg.archivePublicKeys ++ lib.optional (cfg.archivePublicKey != null) cfg.archivePublicKey;
  stateDir = "/var/lib/narvault-coordinator";
  # Secrets reach the service as systemd credentials and the config file names them, so they
  # stand neither in argv nor in the (world-readable) store.
  credential = name: { file = "\${CREDENTIALS_DIRECTORY}/${name}"; };
  options = {
    port = cfg.port;
    bind = cfg.bind;
    # --coordinator-key takes a file: the credential's path, not its contents.
    coordinator-key = { path = "\${CREDENTIALS_DIRECTORY}/coordinator-key"; };
    catalog = if cfg.catalogFile != null then credential "catalog" else cfg.catalog;
    worker-public-key = cfg.workerPublicKeys;
    work-dir = "${stateDir}/work";
    dashboard-port = cfg.dashboardPort;
  }
  // lib.optionalAttrs (archiveKeys != [ ]) { archive-public-key = archiveKeys; }
  // cfg.settings;
  configFile = pkgs.writeText "narvault-coordinator.json" (builtins.toJSON options);
in
{
  options.services.narvault-coordinator = {
    enable = mkEnableOption "the narvault coordinator, the archive's one placement authority";

    package = lib.mkPackageOption pkgs "narvault" {
      extraDescription = "Its bin/narvault runs the coordinator. nixpkgs has no narvault: set this, or add narvault to pkgs by an overlay.";
    };

    port = mkOption {
      type = types.port;
      default = 7000;
      description = "TCP port of the coordinator's API (holders and migrate workers).";
    };

    bind = mkOption {
      type = types.str;
      default = "0.0.0.0";
      description = "Address to listen on.";
    };

    coordinatorKeyFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/etc/secrets/coordinator.key";
      description = "The coordinator's secret key (narvault keygen), handed to the service as a systemd credential; holders trust its public half.";
    };

    catalog = mkOption {
      type = types.str;
      default = "jdbc:sqlite:${stateDir}/catalog.db";
      description = "Catalog JDBC URL, when it holds no secret (use catalogFile for one with a password).";
    };

    catalogFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/etc/secrets/catalog-url";
      description = "A file holding the catalog JDBC URL (with its password), handed over as a systemd credential; wins over catalog.";
    };

    workerPublicKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Public keys of the migrate workers whose placement requests are granted.";
    };

    archivePublicKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "narvault-archive-1:…" ];
      description = "The archive's public keys, to check manifests before repair trusts them; both the old and the new key while the archive key is rotated.";
    };

    archivePublicKey = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Deprecated: use archivePublicKeys. A single archive key, added to archivePublicKeys when set.";
    };

    dashboardPort = mkOption {
      type = types.port;
      default = 7002;
      description = "Port of the archive's dashboard, on loopback (0: none); never opened in the firewall.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the API's port in the firewall.";
    };

    heap = mkOption {
      type = types.str;
      default = "1g";
      example = "2g";
      description = "The JVM's heap (-Xmx), passed through NARVAULT_JAVA_OPTS.";
    };

    memoryMax = mkOption {
      type = types.str;
      default = "2G";
      description = "systemd's MemoryMax for the unit: the heap plus the JVM's own (about 0.6 of the heap more), with room.";
    };

    settings = mkOption {
      type = types.attrsOf (types.oneOf [ types.str types.int types.bool (types.listOf types.str) ]);
      default = { };
      example = { offline-after = "24h"; max-repair-speed = "50MiB"; };
      description = "Further options of `narvault repair`, by long name without the dashes, written to its JSON config file over the typed options above.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.coordinatorKeyFile != null;
        message = "services.narvault-coordinator.coordinatorKeyFile must be set: the coordinator signs every order with that key.";
      }
    ];

    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ cfg.port ];

    systemd.services.narvault-coordinator = {
      description = "narvault coordinator";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = import ./service-hardening.nix { inherit (cfg) heap memoryMax; } // {
        ExecStart = "${cfg.package}/bin/narvault repair --config ${configFile}";
        LoadCredential = [ "coordinator-key:${toString cfg.coordinatorKeyFile}" ]
          ++ lib.optional (cfg.catalogFile != null) "catalog:${toString cfg.catalogFile}";
        StateDirectory = "narvault-coordinator";
        StateDirectoryMode = "0700";
      };
    };
  };
}
