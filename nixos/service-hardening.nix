# What the coordinator's and the gateway's units share: the JVM's heap and memory cap, room for
# the servers' connections, restart on failure, and hardening at least as strict as nixpkgs'
# harmonia module (the holder's unit, which differs in its I/O priority and data directory, keeps
# its own). Imported by coordinator.nix and gateway.nix.
{ heap, memoryMax }:
{
  Environment = [ "NARVAULT_JAVA_OPTS=-Xmx${heap}" ];
  MemoryMax = memoryMax;
  # Each server keeps up to 4096 connections open.
  LimitNOFILE = 16384;
  DynamicUser = true;
  PrivateUsers = true;
  Restart = "on-failure";
  RestartSec = 5;
  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  ProtectProc = "invisible";
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
}
