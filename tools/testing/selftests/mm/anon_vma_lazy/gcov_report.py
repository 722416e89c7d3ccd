#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Line coverage of a GCOV guest kernel's mm files, for vmtest.sh --coverage.

  gcov_report.py --objtree O --srctree S --gcda D --focus F --out R [--diff P]

D holds the .gcda files the guest's debugfs gave (any directory layout; a
file is matched to its object by its path below the build directory O),
O the kernel build directory with the .gcno files, S the source tree. For
every instrumented mm/*.c file, gcov turns them into per-line counts; the
report R gets:

  gcov/<file>.json    gcov's JSON (per function and per line)
  coverage.info       the same as an lcov tracefile (genhtml turns it into
                      HTML; vmtest.sh does when genhtml is installed)
  summary.txt         per file and per focus function: lines executed,
                      lines in all, and the focus functions never entered
  unexecuted.txt      every line of a focus function that never ran, with
                      its source, function by function
  diff.txt            with --diff: the executable lines a patch adds or
                      changes in an instrumented file, whether each ran

F lists the focus functions ("rmap.c: anon_vma_fork unlink_anon_vmas ...",
one mm file a line, '#' comments). A line counts for a function when gcov
attributes it to that function; executed means a count above 0.
Prints the summary; exits 1 when gcov fails or finds no instrumented file.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def read_focus(path):
    """{"rmap.c": ["anon_vma_alloc", ...], ...} in the file's order."""
    focus = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            name, _, funcs = line.partition(':')
            focus.setdefault(name.strip(), []).extend(funcs.split())
    return focus


def find_gcda(gcda_dir, objtree):
    """{"mm/rmap": path of its .gcda} for every mm/*.gcda under gcda_dir."""
    found = {}
    for root, _, files in os.walk(gcda_dir):
        for name in files:
            if not name.endswith('.gcda'):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, gcda_dir)
            # The guest's path is the build directory's, below debugfs.
            key = None
            marker = objtree.strip('/') + '/'
            if marker in rel:
                key = rel.split(marker, 1)[1][:-len('.gcda')]
            elif re.search(r'(^|/)mm/[^/]+\.gcda$', rel):
                key = 'mm/' + name[:-len('.gcda')]
            if key and re.fullmatch(r'mm/[^/]+', key):
                found[key] = path
    return found


def run_gcov(key, gcda, objtree, srctree, work):
    """gcov's JSON for object @key ("mm/rmap"), or None."""
    objdir = os.path.join(work, os.path.dirname(key))
    os.makedirs(objdir, exist_ok=True)
    base = os.path.basename(key)
    gcno = os.path.join(objtree, key + '.gcno')
    if not os.path.exists(gcno):
        return None
    shutil.copy(gcno, os.path.join(objdir, base + '.gcno'))
    shutil.copy(gcda, os.path.join(objdir, base + '.gcda'))
    src = os.path.join(srctree, key + '.c')
    r = subprocess.run(['gcov', '--json-format', '--stdout', '-o', objdir,
                        src], capture_output=True, cwd=work)
    if r.returncode:
        sys.stderr.write('gcov_report: gcov %s: %s\n' %
                         (src, r.stderr.decode(errors='replace').strip()))
        return None
    out = r.stdout
    if out[:2] == b'\x1f\x8b':
        out = gzip.decompress(out)
    # One JSON object per source argument.
    return json.loads(out.decode().splitlines()[0])


def file_entry(data, key):
    """The entry of mm/<file>.c itself among gcov's files (not headers)."""
    for f in data.get('files', []):
        if f['file'].endswith('/' + key + '.c') or f['file'] == key + '.c':
            return f
    return None


def per_function(entry):
    """{function: [lines, executed]} from gcov's line records."""
    funcs = {}
    for line in entry['lines']:
        name = line.get('function_name')
        if not name:
            continue
        cnt = funcs.setdefault(name, [0, 0])
        cnt[0] += 1
        cnt[1] += line['count'] > 0
    return funcs


def write_info(path, entries):
    """An lcov tracefile of the instrumented mm files."""
    with open(path, 'w') as f:
        for key, entry in sorted(entries.items()):
            f.write('TN:\nSF:%s\n' % entry['file'])
            for fn in entry['functions']:
                f.write('FN:%d,%s\n' % (fn['start_line'], fn['name']))
            for fn in entry['functions']:
                f.write('FNDA:%d,%s\n' % (fn['execution_count'], fn['name']))
            for line in entry['lines']:
                f.write('DA:%d,%d\n' % (line['line_number'], line['count']))
            f.write('end_of_record\n')


def pct(a, b):
    return '%.1f%%' % (100.0 * a / b) if b else '-'


def unexecuted(entries, focus, srctree, out):
    """The focus functions' lines that never ran, with their source."""
    lines = []
    for fname, funcs in focus.items():
        key = 'mm/' + fname[:-2] if fname.endswith('.c') else 'mm/' + fname
        entry = entries.get(key)
        if not entry:
            continue
        with open(os.path.join(srctree, key + '.c'), errors='replace') as f:
            src = f.read().split('\n')
        for fn in funcs:
            todo = [line['line_number'] for line in entry['lines']
                    if line.get('function_name') == fn and not line['count']]
            if not todo:
                continue
            lines.append('%s %s: %d lines' % (fname, fn, len(todo)))
            for n in todo:
                text = src[n - 1].strip() if 0 < n <= len(src) else ''
                lines.append('  %s:%d  %s' % (fname, n, text))
    with open(os.path.join(out, 'unexecuted.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def summary(entries, focus, out):
    lines = []
    total = [0, 0]
    lines.append('Instrumented files (lines executed / lines):')
    for key, entry in sorted(entries.items()):
        n = len(entry['lines'])
        x = sum(1 for line in entry['lines'] if line['count'] > 0)
        lines.append('  %-22s %5d / %5d  %6s' % (key + '.c', x, n, pct(x, n)))
    lines.append('')
    lines.append('Focus functions (lines executed / lines; "never entered" when 0):')
    missing = []
    found = 0
    never = []
    for fname, funcs in focus.items():
        key = 'mm/' + fname[:-2] if fname.endswith('.c') else 'mm/' + fname
        entry = entries.get(key)
        table = per_function(entry) if entry else {}
        for fn in funcs:
            if fn not in table:
                missing.append('%s:%s' % (fname, fn))
                continue
            n, x = table[fn]
            found += 1
            total[0] += n
            total[1] += x
            mark = '' if x else '  never entered'
            if not x:
                never.append('%s:%s' % (fname, fn))
            lines.append('  %-14s %-34s %4d / %4d  %6s%s' %
                         (fname, fn, x, n, pct(x, n), mark))
    lines.append('')
    lines.append('focus: %d functions found, %d of %d lines executed (%s)' %
                 (found, total[1], total[0], pct(total[1], total[0])))
    lines.append('focus functions never entered: %d%s' %
                 (len(never), (': ' + ' '.join(never)) if never else ''))
    if missing:
        lines.append('focus functions not in this kernel (inlined or absent): %s'
                     % ' '.join(missing))
    text = '\n'.join(lines) + '\n'
    with open(os.path.join(out, 'summary.txt'), 'w') as f:
        f.write(text)
    return text


def patch_hunks(path):
    """[(file, [(old_no, new_no, kind, text)])] of a unified diff."""
    result = []
    cur = None
    old = new = 0
    with open(path, errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\n')
            if line.startswith('+++ '):
                name = line[4:].split('\t')[0]
                name = re.sub(r'^[ab]/', '', name)
                cur = (name, [])
                result.append(cur)
                continue
            if line.startswith('--- ') or cur is None:
                continue
            m = re.match(r'@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@', line)
            if m:
                old, new = int(m.group(1)), int(m.group(2))
                continue
            if line.startswith('+'):
                cur[1].append((old, new, '+', line[1:]))
                new += 1
            elif line.startswith('-'):
                cur[1].append((old, new, '-', line[1:]))
                old += 1
            elif line.startswith(' ') or line == '':
                old += 1
                new += 1
    return result


def diff_report(patch, entries, srctree, out):
    """The patch's changed lines in instrumented files, ran or not."""
    rows, ran, total = [], 0, 0
    notes = []
    for name, changes in patch_hunks(patch):
        m = re.search(r'(?:^|/)(mm/[^/]+)\.c$', name)
        if not m or m.group(1) not in entries:
            continue
        key = m.group(1)
        counts = {line['line_number']: line['count']
                  for line in entries[key]['lines']}
        with open(os.path.join(srctree, key + '.c'), errors='replace') as f:
            src = f.read().split('\n')
        plus = [c for c in changes if c[2] == '+']
        # Applied to the tree under test: its added lines are there.
        applied = plus and all(0 < n <= len(src) and src[n - 1] == t
                               for _, n, _, t in plus)
        if applied:
            picked = [(n, t) for _, n, _, t in plus]
            notes.append('%s.c: the patch is applied in the tree: its added '
                         'and changed lines' % key)
        else:
            # Not applied (a mutant against this tree): the lines it
            # removes or changes, and for a pure insertion the line it
            # goes after.
            picked = [(o, t) for o, _, k, t in changes if k == '-']
            for o, _, k, t in changes:
                if k == '+' and not any(c[2] == '-' and c[0] == o
                                        for c in changes):
                    picked.append((o - 1, src[o - 2] if o > 1 else ''))
            notes.append('%s.c: the patch is not applied in the tree: the '
                         'lines it removes or changes, and where it inserts'
                         % key)
        for n, t in sorted(set(picked)):
            if n not in counts:
                continue	# not executable code
            total += 1
            ran += counts[n] > 0
            rows.append((key + '.c', n, counts[n], t.strip()))
    lines = notes[:]
    lines.append('%d of %d changed lines executed' % (ran, total))
    never = [r for r in rows if not r[2]]
    if never:
        lines.append('never ran:')
        for f, n, _, t in never:
            lines.append('  %s:%d  %s' % (f, n, t))
    text = '\n'.join(lines) + '\n'
    with open(os.path.join(out, 'diff.txt'), 'w') as f:
        f.write(text)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--objtree', required=True)
    ap.add_argument('--srctree', required=True)
    ap.add_argument('--gcda', required=True)
    ap.add_argument('--focus', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--diff')
    args = ap.parse_args()

    objtree = os.path.abspath(args.objtree)
    os.makedirs(os.path.join(args.out, 'gcov'), exist_ok=True)
    gcdas = find_gcda(args.gcda, objtree)
    entries = {}
    work = tempfile.mkdtemp(prefix='avl-gcov.')
    try:
        for key, gcda in sorted(gcdas.items()):
            data = run_gcov(key, gcda, objtree, args.srctree, work)
            entry = file_entry(data, key) if data else None
            if not entry:
                continue
            entries[key] = entry
            with open(os.path.join(args.out, 'gcov',
                                   os.path.basename(key) + '.json'), 'w') as f:
                json.dump(entry, f)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not entries:
        sys.stderr.write('gcov_report: no instrumented mm file in %s\n' %
                         args.gcda)
        return 1
    write_info(os.path.join(args.out, 'coverage.info'), entries)
    focus = read_focus(args.focus)
    sys.stdout.write(summary(entries, focus, args.out))
    unexecuted(entries, focus, args.srctree, args.out)
    if args.diff:
        sys.stdout.write('\n' + diff_report(args.diff, entries, args.srctree,
                                            args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
