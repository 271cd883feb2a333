# NixOS module for a narvault holder: a volunteer's fragment server.
#
#   imports = [ ./holder.nix ];
#   services.narvault-holder = {
#     enable = true;
#     package = narvault;                 # your build of narvault (default: pkgs.narvault)
#     capacity = "200GiB";
#     maxUploadSpeed = "5MiB";
#     maxUploadPerMonth = "1TiB";
#     coordinator = "https://coordinator.example.org";
#     coordinatorPublicKeys = [ "narvault-coordinator-1:…" ];
#     openFirewall = true;
#   };
#
# `package` defaults to `pkgs.narvault`, which nixpkgs does not have: either set `package` to
# your derivation of this project's build (anything with a bin/narvault), or provide
# `pkgs.narvault` with an overlay (`nixpkgs.overlays = [ (final: prev: { narvault = …; }) ];`).
{ config, lib, pkgs, ... }:

let
  cfg = config.services.narvault-holder;
  inherit (lib) mkEnableOption mkOption mkIf types;
  # The deprecated single key, if set, is one more current key.
  coordinatorKeys = cfg.coordinatorPublicKeys ++ lib.optional (cfg.coordinatorPublicKey != "") cfg.coordinatorPublicKey;
  # The typed options, then `settings` over them, as the holder's JSON config file (--config).
  options = {
    data-dir = cfg.dataDir;
    port = cfg.port;
    bind = cfg.bind;
    capacity = cfg.capacity;
    max-upload-speed = cfg.maxUploadSpeed;
    max-upload-per-month = cfg.maxUploadPerMonth;
    max-download-speed = cfg.maxDownloadSpeed;
    trash-for = cfg.trashFor;
    coordinator-public-key = coordinatorKeys;
    dashboard-port = cfg.dashboardPort;
  }
  // lib.optionalAttrs (cfg.retiredCoordinatorPublicKeys != [ ]) {
    retired-coordinator-public-key = map (r: "${r.key}@${r.until}") cfg.retiredCoordinatorPublicKeys;
  }
  // lib.optionalAttrs (cfg.coordinator != null) { coordinator = cfg.coordinator; }
  // lib.optionalAttrs (cfg.advertise != null) { advertise = cfg.advertise; }
  // cfg.settings;
  configFile = pkgs.writeText "narvault-holder.json" (builtins.toJSON options);
  # `narvault holder-exit` for this holder: the data directory and coordinator of the config file
  # above (settings included), so it speaks with the service's identity to the service's
  # coordinator. holder-exit takes no --config (the file's other options are not its own).
  exitCommand = pkgs.writeShellScriptBin "narvault-holder-exit" (
    if options ? coordinator then ''
      # Tells the coordinator this holder is leaving; run it again to see how many fragments are
      # still to move (at 0 the holder may stop for good). Run as root: the data directory
      # belongs to the service's dynamic user.
      exec ${cfg.package}/bin/narvault holder-exit --data-dir ${lib.escapeShellArg options.data-dir} --coordinator ${lib.escapeShellArg options.coordinator} "$@"
    '' else ''
      echo "narvault-holder-exit: services.narvault-holder.coordinator is not set: no coordinator to tell" >&2
      exit 1
    '');
in
{
  options.services.narvault-holder = {
    enable = mkEnableOption "the narvault holder, storing erasure-coded fragments of a Nix binary cache archive";

    package = lib.mkPackageOption pkgs "narvault" {
      extraDescription = "Its bin/narvault runs the holder. nixpkgs has no narvault: set this, or add narvault to pkgs by an overlay.";
    };

    dataDir = mkOption {
      type = types.str;
      default = "/var/lib/narvault-holder";
      description = "Where fragments and the holder's identity key live. Under /var/lib so that StateDirectory owns it.";
    };

    capacity = mkOption {
      type = types.str;
      default = "10GiB";
      example = "500GiB";
      description = "Most fragment bytes to store; writes beyond it are refused before any byte is taken.";
    };

    maxUploadSpeed = mkOption {
      type = types.str;
      default = "0";
      example = "10MiB";
      description = "Cap on bytes per second sent to all clients together (0: no cap).";
    };

    maxUploadPerMonth = mkOption {
      type = types.str;
      default = "0";
      example = "1TiB";
      description = "Monthly upload quota: the most fragment bytes served to clients in a calendar month (UTC); reads that would pass it are answered 503 with Retry-After until the next month. The coordinator's audits are neither counted nor refused. The month's count is kept in the data directory across restarts (0: no quota).";
    };

    maxDownloadSpeed = mkOption {
      type = types.str;
      default = "0";
      description = "Cap on bytes per second received for uploads (0: no cap).";
    };

    trashFor = mkOption {
      type = types.str;
      default = "7d";
      example = "12h";
      description = "How long deleted fragments stay restorable in the trash (0: delete at once); the trash only uses room no new fragment needs.";
    };

    coordinator = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://coordinator.example.org";
      description = "Coordinator URL to register with and send heartbeats to.";
    };

    coordinatorPublicKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "narvault-coordinator-1:AbC…=" ];
      description = "The coordinator's public keys: only orders signed by one of them (or by a retired key before its date) may write or delete fragments. More than one while the coordinator key is rotated.";
    };

    coordinatorPublicKey = mkOption {
      type = types.str;
      default = "";
      example = "narvault-coordinator-1:AbC…=";
      description = "Deprecated: use coordinatorPublicKeys. A single coordinator key, added to coordinatorPublicKeys when set.";
    };

    retiredCoordinatorPublicKeys = mkOption {
      type = types.listOf (types.submodule {
        options = {
          key = mkOption {
            type = types.str;
            description = "The retired coordinator key, NAME:BASE64.";
          };
          until = mkOption {
            type = types.str;
            example = "2027-01-31";
            description = "Orders it signed are accepted until this date (YYYY-MM-DD, from the start of that day in UTC on) or ISO-8601 instant, and refused from then on.";
          };
        };
      });
      default = [ ];
      example = [ { key = "narvault-coordinator-1:AbC…="; until = "2027-01-31"; } ];
      description = "Coordinator keys being retired, each accepted until its date (docs/operations.md, Rotating keys).";
    };

    port = mkOption {
      type = types.port;
      default = 7070;
      description = "TCP port the holder listens on.";
    };

    bind = mkOption {
      type = types.str;
      default = "0.0.0.0";
      description = "Address to listen on.";
    };

    advertise = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "http://holder.example.org:7070";
      description = "URL clients reach this holder at. By default (bound to 0.0.0.0) the holder advertises the address the coordinator sees it at; set this behind NAT or a name.";
    };

    dashboardPort = mkOption {
      type = types.port;
      default = 7071;
      description = "Port of the volunteer's dashboard, on loopback only (0: none). Never opened in the firewall: reach it from elsewhere through an SSH tunnel.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the holder's port in the firewall.";
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
      example = { scrub-speed = "8MiB"; operator = "alice"; location = "NL"; };
      description = "Further options of `narvault holder`, by long name without the dashes, written to its JSON config file over the typed options above (a setting given here wins).";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = coordinatorKeys != [ ];
        message = "services.narvault-holder.coordinatorPublicKeys must be set: the holder accepts writes only with orders those keys signed.";
      }
    ];

    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ cfg.port ];

    # `sudo narvault-holder-exit` announces the holder's exit (docs/holder.md, "Leaving").
    environment.systemPackages = [ exitCommand ];

    systemd.services.narvault-holder = {
      description = "narvault holder";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        ExecStart = "${cfg.package}/bin/narvault holder --config ${configFile}";
        Environment = [ "NARVAULT_JAVA_OPTS=-Xmx${cfg.heap}" ];
        MemoryMax = cfg.memoryMax;
        # Each server keeps up to 4096 connections (and a holder its fragment files) open.
        LimitNOFILE = 16384;
        DynamicUser = true;
        PrivateUsers = true;
        StateDirectory = "narvault-holder";
        # Any data directory: writable for the service whatever ProtectSystem makes of the rest.
        ReadWritePaths = [ cfg.dataDir ];
        StateDirectoryMode = "0700";
        Restart = "on-failure";
        # A holder the coordinator refused before it ever joined exits 78 (EX_CONFIG): restarting
        # cannot help; the unit stays failed with the reason in its journal.
        RestartPreventExitStatus = 78;
        RestartSec = 5;
        # Hardening: the holder needs its state directory, the network, and nothing else.
        ProtectSystem = "strict";
        ProtectHome = true;
        ProtectProc = "invisible";
        # A polite neighbour: the lowest best-effort I/O priority (serving and scrubbing share the
        # unit; idle would starve reads on a busy disk) and a nice CPU.
        IOSchedulingClass = "best-effort";
        IOSchedulingPriority = 7;
        Nice = 10;
        PrivateTmp = true;
        PrivateDevices = true;
        NoNewPrivileges = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
        SystemCallFilter = [ "@system-service" ];
        SystemCallArchitectures = "native";
        CapabilityBoundingSet = "";
        # The JVM generates code at run time.
        MemoryDenyWriteExecute = false;
        UMask = "0077";
      };
    };
  };
}
