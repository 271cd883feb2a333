# Evaluates nixos/holder.nix with nixpkgs' own lib (the few NixOS options it sets declared loosely here,
# pkgs.writeText as builtins.toFile) and returns the unit's ExecStart, or fails with the
# module's failed assertions. Used by NixosModuleEvalTest.
{ libPath, modulePath, pkgPath, dataDir, port, key }:
let
  lib = import libPath;
  stubs = { lib, ... }: {
    options = {
      systemd.services = lib.mkOption { type = lib.types.attrsOf lib.types.anything; default = { }; };
      networking.firewall.allowedTCPPorts = lib.mkOption { type = lib.types.listOf lib.types.port; default = [ ]; };
      assertions = lib.mkOption { type = lib.types.listOf lib.types.anything; default = [ ]; };
    };
  };
  pkgs = { writeText = name: text: builtins.toFile name text; };
  eval = lib.evalModules {
    modules = [ modulePath stubs {
      services.narvault-holder = {
        enable = true;
        package = { type = "derivation"; outPath = pkgPath; name = "narvault"; };
        inherit dataDir port;
        bind = "127.0.0.1";
        coordinatorPublicKey = key;
        dashboardPort = 0;
        settings = { scrub-speed = "8MiB"; port = port; };
      };
    } ];
    specialArgs = { inherit pkgs; };
  };
  failed = builtins.filter (a: !a.assertion) eval.config.assertions;
in
  if failed != [ ] then throw (builtins.concatStringsSep "; " (map (a: a.message) failed))
  else eval.config.systemd.services.narvault-holder.serviceConfig.ExecStart
