"""A scriptable stand-in plugin for libcni tests (no kernel access).

Every call appends {"plugin", "env" (CNI_* vars), "stdin"} as one JSON line to $FAKE_PLUGIN_LOG.
Behaviour comes from the plugin's own config object (libcni passes unknown keys through):
  "fake": {
    "<VERB>": {"error": {"code": 7, "msg": "...", "details": "..."},   # print it, exit 1
               "result": {...},        # ADD: print this (else $FAKE_RESULT, else prevResult
                                       #      plus one interface)
               "stdout": "raw text",   # print verbatim
               "stderr": "text",       # write to stderr
               "exit": 3,              # exit status
               "sleep": 30}            # sleep first (timeouts)
  }
VERSION answers {"cniVersion": "1.1.0", "supportedVersions": $FAKE_VERSIONS or all}.
"""

from __future__ import annotations

import json
import os
import sys
import time

ALL = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]


def main() -> None:
    name = os.path.basename(sys.argv[0])
    command = os.environ.get("CNI_COMMAND", "")
    stdin = sys.stdin.buffer.read()
    log = os.environ.get("FAKE_PLUGIN_LOG")
    if log:
        record = {
            "plugin": name,
            "env": {k: v for k, v in os.environ.items() if k.startswith("CNI_")},
            "stdin": stdin.decode(),
        }
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
    if command == "VERSION":
        versions = os.environ.get("FAKE_VERSIONS")
        supported = versions.split(",") if versions else ALL
        sys.stdout.write(json.dumps({"cniVersion": "1.1.0", "supportedVersions": supported}))
        return
    conf = json.loads(stdin)
    behaviour = (conf.get("fake") or {}).get(command) or {}
    if behaviour.get("sleep"):
        sys.stderr.write("sleeping\n")
        sys.stderr.flush()
        time.sleep(behaviour["sleep"])
    if "stderr" in behaviour:
        sys.stderr.write(behaviour["stderr"])
    if "error" in behaviour:
        sys.stdout.write(json.dumps(behaviour["error"]))
        raise SystemExit(1)
    if "stdout" in behaviour:
        sys.stdout.write(behaviour["stdout"])
    elif command == "ADD":
        result = behaviour.get("result")
        if result is None and os.environ.get("FAKE_RESULT"):
            result = json.loads(os.environ["FAKE_RESULT"])
        if result is None:
            result = conf.get("prevResult") or {"cniVersion": conf.get("cniVersion", "")}
            result = dict(result)
            ifaces = list(result.get("interfaces") or [])
            ifaces.append({"name": name, "sandbox": os.environ.get("CNI_NETNS", "")})
            if conf.get("cniVersion", "") >= "0.3.0":
                result["interfaces"] = ifaces
                ip = {"address": "10.1.2.3/24", "gateway": "10.1.2.1", "interface": 0}
                if conf.get("cniVersion", "") < "1.0.0":
                    ip["version"] = "4"
                result.setdefault("ips", [ip])
            else:
                result.setdefault("ip4", {"ip": "10.1.2.3/24"})
        sys.stdout.write(json.dumps(result))
    raise SystemExit(behaviour.get("exit", 0))


if __name__ == "__main__":
    main()
