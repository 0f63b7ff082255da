#!/usr/bin/env python3
"""tests/monitoring/check.py — the structure checks of docs/monitoring/ that
promtool does not make (tests/stages/monitoring.sh runs them).

  check.py structure DIR OUT   the dashboard is valid JSON of the expected
                               shape; every alert of the rules has a test
                               case in which it fires; writes OUT, a rules
                               file with every dashboard query as a recording
                               rule (Grafana's variables replaced), so that
                               promtool check rules parses them
  check.py names DIR FILE...   every metric name the rules and the dashboard
                               use appears as a sample in one of the /metrics
                               texts FILE...
"""
import json
import re
import sys

import yaml

METRIC = re.compile(r"\b(dtx_[a-z0-9_]+)\b")
GRAFANA_VARS = {"$__rate_interval": "5m", "$instance": ".*", "$gateway": ".*"}


def fail(msg):
    print("monitoring: " + msg, file=sys.stderr)
    sys.exit(1)


def load(d):
    try:
        with open(d + "/dtx-dashboard.json") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        fail("dtx-dashboard.json: %s" % e)
    with open(d + "/dtx-alerts.yml") as f:
        rules = yaml.safe_load(f)
    with open(d + "/dtx-alerts.test.yml") as f:
        tests = yaml.safe_load(f)
    return dash, rules, tests


def dashboard_exprs(dash):
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"]))
    for v in dash["templating"]["list"]:
        out.append(("variable " + v["name"], v["definition"]))
    return out


def alerts(rules):
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def structure(d, out):
    dash, rules, tests = load(d)
    for key in ("title", "uid", "panels", "templating", "__inputs", "schemaVersion"):
        if key not in dash:
            fail("dtx-dashboard.json: no %r" % key)
    if not any(i.get("name") == "DS_PROMETHEUS" for i in dash["__inputs"]):
        fail("dtx-dashboard.json: the DS_PROMETHEUS input (chosen at import) is missing")
    ids, titles = set(), set()
    for p in dash["panels"]:
        for key in ("id", "type", "title", "gridPos"):
            if key not in p:
                fail("dtx-dashboard.json: a panel has no %r: %s" % (key, p.get("title")))
        if p["id"] in ids:
            fail("dtx-dashboard.json: panel id %s twice" % p["id"])
        ids.add(p["id"])
        g = p["gridPos"]
        if not (0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0):
            fail("dtx-dashboard.json: panel %r is outside the 24-column grid" % p["title"])
        if p["type"] == "row":
            continue
        if p["title"] in titles:
            fail("dtx-dashboard.json: panel title %r twice" % p["title"])
        titles.add(p["title"])
        if not p.get("targets"):
            fail("dtx-dashboard.json: panel %r has no query" % p["title"])
        if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            fail("dtx-dashboard.json: panel %r does not use the imported data source" % p["title"])
        for t in p["targets"]:
            if not t.get("expr") or not t.get("refId"):
                fail("dtx-dashboard.json: panel %r has a query without expr or refId" % p["title"])
    want = {"throughput by outcome", "phase latency", "stuck", "retry rate", "log batch sizes",
            "rejects by rule"}
    for w in want:
        if not any(w in t.lower() for t in titles):
            fail("dtx-dashboard.json: no panel about %r" % w)
    # Every alert fires in some test case (exp_alerts not empty).
    fired = set()
    for case in tests["tests"]:
        for a in case.get("alert_rule_test", []):
            if a.get("exp_alerts"):
                fired.add(a["alertname"])
    names = [a["alert"] for a in alerts(rules)]
    for n in names:
        if n not in fired:
            fail("dtx-alerts.test.yml: no test case where %s fires" % n)
        a = next(a for a in alerts(rules) if a["alert"] == n)
        if not a.get("annotations", {}).get("summary") or not a.get("labels", {}).get("severity"):
            fail("dtx-alerts.yml: %s needs a severity label and a summary" % n)
    for n in ("DtxStuckTransactions", "DtxRecoveryBacklog", "DtxLeaseNotHeld",
              "DtxLogWriteLatencyHigh", "DtxGatewayBreakerOpen"):
        if n not in names:
            fail("dtx-alerts.yml: the %s alert is missing" % n)
    # The dashboard's queries as recording rules, for promtool's parser.
    recs = []
    for i, (where, e) in enumerate(dashboard_exprs(dash)):
        if e.startswith("label_values("):
            m = re.fullmatch(r"label_values\((dtx_[a-z0-9_]+), *([a-z_]+)\)", e)
            if not m:
                fail("dtx-dashboard.json: %s: unexpected variable query %r" % (where, e))
            continue
        for k, v in GRAFANA_VARS.items():
            e = e.replace(k, v)
        if "$" in e:
            fail("dtx-dashboard.json: %s: an unknown variable in %r" % (where, e))
        recs.append({"record": "dtx_dashboard_query_%d" % i, "expr": e})
    with open(out, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recs}]}, f)
    print("monitoring: dashboard %d panels, %d queries; %d alerts, each fires in a test"
          % (len(ids), len(recs), len(names)))


def names(d, files):
    dash, rules, _ = load(d)
    used = {}
    for a in alerts(rules):
        for m in METRIC.findall(a["expr"]):
            used.setdefault(m, []).append("alert " + a["alert"])
    for where, e in dashboard_exprs(dash):
        for m in METRIC.findall(e):
            used.setdefault(m, []).append("panel " + where)
    exposed = set()
    for fn in files:
        with open(fn) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                exposed.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    missing = sorted(m for m in used if m not in exposed)
    for m in missing:
        print("monitoring: %s (used by %s) is in no /metrics output" % (m, ", ".join(sorted(set(used[m])))),
              file=sys.stderr)
    if missing:
        sys.exit(1)
    print("monitoring: all %d metric names used are exposed" % len(used))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "structure":
        structure(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "names":
        names(sys.argv[2], sys.argv[3:])
    else:
        fail("usage: check.py structure DIR OUT | check.py names DIR METRICS...")
