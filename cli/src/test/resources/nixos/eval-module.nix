# Evaluates one of the project's NixOS modules (nixos/*.nix) with nixpkgs' own lib: the few NixOS
# options the modules set are declared loosely here, pkgs.writeText is builtins.toFile,
# pkgs.writeShellScriptBin a script made the same way (its path as the derivation's outPath, so
# the test can read it and run it with sh), and the package a fake derivation at pkgPath: given
# as the module's `package` option, or (packageFromPkgs) left to the option's default,
# pkgs.narvault. When `package` is given, pkgs.narvault is a derivation that does not exist, so
# the unit shows which one the module took. Returns the unit's ExecStart, LoadCredential and whole
# serviceConfig (all of it evaluated) and environment.systemPackages (name and path of each), or
# fails with the module's failed assertions. Used by NixosModuleEvalTest.
{ libPath, modulePath, service, cfgJson, pkgPath, packageFromPkgs ? false }:
let
  lib = import libPath;
  stubs = { lib, ... }: {
    options = {
      systemd.services = lib.mkOption { type = lib.types.attrsOf lib.types.anything; default = { }; };
      networking.firewall.allowedTCPPorts = lib.mkOption { type = lib.types.listOf lib.types.port; default = [ ]; };
      environment.systemPackages = lib.mkOption { type = lib.types.listOf lib.types.anything; default = [ ]; };
      assertions = lib.mkOption { type = lib.types.listOf lib.types.anything; default = [ ]; };
    };
  };
  fakePackage = path: { type = "derivation"; outPath = path; name = "narvault"; };
  pkgs = {
    writeText = name: text: builtins.toFile name text;
    writeShellScriptBin = name: text: {
      type = "derivation";
      inherit name;
      outPath = builtins.toFile name ("#!/bin/sh\n" + text);
    };
    narvault = fakePackage (if packageFromPkgs then pkgPath else "/nonexistent/pkgs-narvault");
  };
  eval = lib.evalModules {
    modules = [
      modulePath
      stubs
      {
        services.${service} = builtins.fromJSON cfgJson // { enable = true; }
          // lib.optionalAttrs (!packageFromPkgs) { package = fakePackage pkgPath; };
      }
    ];
    specialArgs = { inherit pkgs; };
  };
  failed = builtins.filter (a: !a.assertion) eval.config.assertions;
  unit = eval.config.systemd.services.${service}.serviceConfig;
in
  if failed != [ ] then throw (builtins.concatStringsSep "; " (map (a: a.message) failed))
  else {
    execStart = unit.ExecStart;
    loadCredential = unit.LoadCredential or [ ];
    serviceConfig = unit;
    systemPackages = map (p: { inherit (p) name; path = p.outPath; }) eval.config.environment.systemPackages;
  }
