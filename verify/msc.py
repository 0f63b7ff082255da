#!/usr/bin/env python3
"""msc.py — replays a SPIN trail of verify/dtx.pml and prints it as a
message sequence ("C1 -> P: PHASE confirm branch=1 attempt=1"), the log's
changes, the faults, and the assertion that failed.

Usage: verify/msc.py MODEL [SPIN DEFINES...]   (run where MODEL.trail is)
"""
import re
import subprocess
import sys

OPS = {1: "try", 2: "confirm", 3: "cancel", 4: "prepare", 5: "commit", 6: "abort"}
OUT = {0: "ok", 1: "refused", 2: "failed"}
GST = {1: "active", 2: "committing", 3: "committed", 4: "aborting", 5: "aborted", 6: "stuck"}
BST = {0: "-", 1: "trying", 2: "tried", 3: "refused", 4: "confirmed", 5: "cancelled"}
REQ = {1: "TRY", 2: "COMMIT", 3: "ROLLBACK", 4: "RESUME", 5: "TCC_RUN (commit when every branch votes yes)"}


def main():
    model, defs = sys.argv[1], sys.argv[2:]
    out = subprocess.run(["spin", "-t", "-p", "-g", *defs, model], capture_output=True,
                         text=True).stdout
    g = {}
    step_re = re.compile(r"^\s*(\d+):\s+proc\s+(\d+)\s+\((\w+):\d\)")
    var_re = re.compile(r"^\s+([a-z_]+)(?:\[(\d+)\])?\s*=\s*(-?\d+)\s*$")
    cur = None
    changed = set()
    lines = []

    def flush():
        if cur is None:
            return
        _, pid, who = cur
        actor = "C%d" % (int(pid) - 1) if who == "Coordinator" else who
        for s in range(4):
            if ("m_kind", s) in changed and g.get(("m_kind", s), 0) in (1, 2):
                k = g[("m_kind", s)]
                node = g.get(("m_node", s), 0) + 1
                op = OPS.get(g.get(("m_op", s), 0), "?")
                br = g.get(("m_br", s), 0) + 1
                att = g.get(("m_att", s), 0)
                if k == 1:
                    lines.append("C%d -> P: PHASE %s branch=%d attempt=%d" % (node, op, br, att))
                else:
                    src = "F (forger)" if g.get(("m_conn", s), 0) == 2 else "P"
                    lines.append("%s -> C%d: PHASE_REPLY %s branch=%d attempt=%d %s" %
                                 (src, node, op, br, att, OUT.get(g.get(("m_out", s), 0), "?")))
        for (name, idx) in sorted(changed, key=str):
            v = g.get((name, idx))
            if name == "req" and v and who == "Initiator":
                lines.append("I -> C%d: %s" % (idx + 1, REQ.get(v, v)))
            elif name == "g_state" and v:
                lines.append("   log: state %s" % GST.get(v, v))
            elif name == "subfails" and v:
                lines.append("~~ %s: a branch of the TCC_RUN fails before its write is submitted "
                             "(ENOMEM): answered an ERROR, not recorded" % actor)
            elif name == "g_prep" and v:
                lines.append("   log: preparing mark")
            elif name == "run_told" and v:
                lines.append("%s -> I: %s" % (actor, "ERROR (no branch had an outcome)" if v == 255
                                              else "TRY_MANY_OK " + GST.get(v, str(v))))
            elif name == "g_gen":
                lines.append("   log: claimed by C%d (owner_gen %d)" % (g.get(("g_owner", None), 1), v))
            elif name == "b_state" and v:
                lines.append("   log: branch %d %s" % (idx + 1, BST.get(v, v)))
            elif name == "n_lease" and v == 0:
                lines.append("~~ C%d paused past its lease" % (idx + 1))
            elif name == "n_epoch" and who == "Coordinator" and idx is not None:
                lines.append("~~ C%d crashed and restarted (epoch %d)" % (idx + 1, v))
            elif name == "deadline" and v == 1:
                lines.append("~~ the deadline passed")
            elif name == "told_commit" and v == 1:
                lines.append("%s -> I: STATE committing" % actor)
            elif name == "told_abort" and v == 1:
                lines.append("%s -> I: STATE aborting" % actor)
            elif name in ("e_try", "e_conf", "e_canc", "p_prep") and v:
                what = {"e_try": "Try/Prepare work done", "e_conf": "Confirm/Commit done",
                        "e_canc": "Cancel/Abort recorded", "p_prep": "prepared"}[name]
                lines.append("   P: branch %d %s" % (idx + 1, what))
        changed.clear()

    for line in out.splitlines():
        if "assertion violated" in line or "invalid end state" in line or "acceptance cycle" in line:
            flush()
            lines.append("!! " + line.strip())
            break
        m = step_re.match(line)
        if m:
            if cur is None or m.group(1) != cur[0]:
                flush()
                cur = m.groups()
            continue
        m = var_re.match(line)
        if m:
            name, idx, val = m.group(1), m.group(2), int(m.group(3))
            key = (name, int(idx) if idx is not None else None)
            if g.get(key) != val:
                g[key] = val
                changed.add(key)
        if line.startswith("<<<<<START OF CYCLE>>>>>"):
            flush()
            lines.append("-- cycle starts (repeats forever) --")
    flush()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
