#!/usr/bin/env python3
"""tests/layers/check.py - the house keeps its shape.

For one part (coordinator/, gateway-filter/src/) it builds the module graph
from two sources and fails on what the part's README does not allow:
  - includes: every #include "x.h" of a .c or .h resolved to a file of the
    part (relative to the including file, then to the part's root);
  - calls: `nm` over the part's objects; an undefined symbol of one module
    defined by another module of the part is an arrow.
A module is a .c with the header of the same name (a lone header is a
module of its own). It fails on
  - a circle: modules that reach each other (listed with the arrows that tie
    them, and the names or includes behind each arrow);
  - an arrow from one folder to a folder that the README's table does not
    list under "may use" for it (a folder may always use itself);
  - a file in a folder that the table does not name.

The README table: rows `| \`folder/\` | job | \`a/\` \`b/\` |`; the folder of
files at the part's root is written `\`./\``; the last cell lists the folders
it may use ("—" for none).

  tests/layers/check.py PART_ROOT README BUILD [--report]
exit 0: the shape holds; 1: it does not (reasons on stderr); 2: misuse.
"""
import os
import re
import subprocess
import sys


def modules_of(root):
    files = []
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(('.c', '.h')):
                files.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(files)


def module(path):
    return path[:-2]


def folder(path):
    d = os.path.dirname(path)
    return (d + '/') if d else './'


def includes(root, files):
    inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    have = set(files)
    arrows = {}
    for f in files:
        with open(os.path.join(root, f), encoding='utf-8', errors='replace') as fh:
            text = fh.read()
        for m in inc_re.finditer(text):
            inc = m.group(1)
            cands = [os.path.normpath(os.path.join(os.path.dirname(f), inc)), os.path.normpath(inc)]
            for c in cands:
                if c in have:
                    a, b = module(f), module(c)
                    if a != b:
                        arrows.setdefault((a, b), set()).add('#include "%s"' % inc)
                    break
    return arrows


def calls(root, files, build):
    defined, undefined = {}, {}
    for f in files:
        if not f.endswith('.c'):
            continue
        obj = os.path.join(build, 'obj', root, f[:-2] + '.o')
        if not os.path.exists(obj):
            sys.stderr.write('layers: %s is missing (build first)\n' % obj)
            sys.exit(2)
        out = subprocess.run(['nm', '-P', obj], check=True, capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            name, kind = parts[0], parts[1]
            if kind == 'U':
                undefined.setdefault(module(f), set()).add(name)
            elif kind.isupper():
                defined[name] = module(f)
    arrows = {}
    for a, names in undefined.items():
        for n in names:
            b = defined.get(n)
            if b and b != a:
                arrows.setdefault((a, b), set()).add(n + '()')
    return arrows


def circles(nodes, edges):
    """Tarjan's strongly connected components of size > 1."""
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = [0]
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onstack.add(v)
        for w in succ.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in onstack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                onstack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def table(readme):
    rules = {}
    row = re.compile(r'^\|\s*`([^`]+)`\s*\|.*\|([^|]*)\|\s*$')
    with open(readme, encoding='utf-8') as fh:
        for line in fh:
            m = row.match(line.strip())
            if not m:
                continue
            rules[m.group(1)] = set(re.findall(r'`([^`]+)`', m.group(2)))
    return rules


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    report = '--report' in sys.argv
    if len(args) != 3:
        sys.stderr.write(__doc__)
        return 2
    root, readme, build = args
    root = os.path.normpath(root)
    files = modules_of(root)
    edges = {}
    for src in (includes(root, files), calls(root, files, build)):
        for k, v in src.items():
            edges.setdefault(k, set()).update(v)
    nodes = {module(f) for f in files}
    bad = []
    for comp in circles(nodes, edges):
        lines = ['circle of %d modules: %s' % (len(comp), ' '.join(comp))]
        for (a, b), why in sorted(edges.items()):
            if a in comp and b in comp:
                lines.append('    %s -> %s: %s' % (a, b, ', '.join(sorted(why))))
        bad.append('\n'.join(lines))
    rules = table(readme) if os.path.exists(readme) else None
    if rules is None:
        bad.append('%s: missing (it holds the table of folders and what each may use)' % readme)
    else:
        for f in files:
            if folder(f) not in rules:
                bad.append('%s/%s: its folder %s is not in the table of %s'
                           % (root, f, folder(f), readme))
        for (a, b), why in sorted(edges.items()):
            fa, fb = folder(a + '.c'), folder(b + '.c')
            if fa != fb and fa in rules and fb not in rules[fa]:
                bad.append('%s -> %s: folder %s may not use %s (%s)'
                           % (a, b, fa, fb, ', '.join(sorted(why))))
    if report:
        for (a, b), why in sorted(edges.items()):
            print('%s -> %s: %s' % (a, b, ', '.join(sorted(why))))
    if bad:
        for b in bad:
            sys.stderr.write('layers: %s: %s\n' % (root, b))
        return 1
    print('layers: %s: %d modules, %d arrows, no circle, every arrow allowed'
          % (root, len(nodes), len(edges)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
