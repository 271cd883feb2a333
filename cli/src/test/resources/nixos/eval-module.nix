# Evaluates one of the project's NixOS modules (nixos/*.nix) with nixpkgs' own lib: the few NixOS
# options the modules set are declared loosely here, pkgs.writeText is builtins.toFile, and the
# package a fake derivation at pkgPath. Returns the unit's ExecStart, LoadCredential and whole
# serviceConfig (all of it evaluated), or fails
# with the module's failed assertions. Used by NixosModuleEvalTest.
{ libPath, modulePath, service, cfgJson, pkgPath }:
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
    modules = [
      modulePath
      stubs
      {
        services.${service} = builtins.fromJSON cfgJson // {
          enable = true;
          package = { type = "derivation"; outPath = pkgPath; name = "narvault"; };
        };
      }
    ];
    specialArgs = { inherit pkgs; };
  };
  failed = builtins.filter (a: !a.assertion) eval.config.assertions;
  unit = eval.config.systemd.services.${service}.serviceConfig;
in
  if failed != [ ] then throw (builtins.concatStringsSep "; " (map (a: a.message) failed))
  else { execStart = unit.ExecStart; loadCredential = unit.LoadCredential or [ ]; serviceConfig = unit; }
