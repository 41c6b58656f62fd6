#!/usr/bin/env python3
"""lint: the source rules that a compiler does not check.

    python3 tests/lint/lint.py [--root DIR]

Checks every C file (.c, .h) of lib/, the program directories, bench/ and
tests/unit/ under DIR (default: the checkout):

  banned   strcpy( strcat( sprintf( vsprintf( gets( strtok( atoi( do not
           appear outside comments and string literals
           (doc/CONVENTIONS.md: one safe buffer type, bounded copies);
  layers   a file of lib/LAYER/ includes only "L/x.h" with L at or below
           LAYER in LAYERS below, plus <system> headers and config.h;
           nothing in lib/ includes a program's header;
  programs a program directory includes its own headers ("x.h"), lib's
           ("layer/x.h") and config.h, never another program's.

Prints one line per violation (path:line: rule: text) and exits 1 if there
is any, else prints "lint: ok (N files)" and exits 0.
"""
import os
import re
import sys

# lib/'s layers, lowest first (doc/DESIGN.md "Layers"); keep in step with
# Makefile.in's LIB_* lists.
LAYERS = ["util", "mail", "daemon", "queue", "lookup", "net", "store",
          "login", "imap"]
PROGRAMS = ["smtpd", "queued", "enqueue", "enqueued", "remote", "deliverd", "pop3d",
            "imapd", "start", "tools"]
OTHER = ["bench", "tests/unit", "tests/fuzz"]

BANNED = re.compile(r'\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi)\s*\(')
TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'
                   r"'(?:\\.|[^'\\\n])*'", re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def blank(m):
    # keep the newlines (and a string's quotes) so line numbers stay right
    return re.sub(r'[^\n]', ' ', m.group(0))


def sources(root, d, recurse):
    top = os.path.join(root, d)
    if not os.path.isdir(top):
        return []
    out = []
    for dirpath, dirnames, files in os.walk(top):
        dirnames.sort()
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                out.append(os.path.join(dirpath, f))
        if not recurse:
            break
    return out


def lineno(text, pos):
    return text.count("\n", 0, pos) + 1


def check_includes(rel, text, where, errors):
    """where: ("lib", layer) or ("prog", directory) or ("other", None)."""
    kind, name = where
    for m in INCLUDE.finditer(text):
        inc = m.group(1)
        no = lineno(text, m.start())
        if inc == "config.h":
            continue
        head = inc.split("/", 1)[0] if "/" in inc else None
        if kind == "lib":
            if head not in LAYERS:
                errors.append(f"{rel}:{no}: layers: \"{inc}\" is not a lib "
                              f"header named by its layer (\"layer/x.h\")")
            elif LAYERS.index(head) > LAYERS.index(name):
                errors.append(f"{rel}:{no}: layers: lib/{name} includes the "
                              f"higher layer {head}/ (\"{inc}\")")
        elif kind == "prog":
            if head is None:
                if not os.path.exists(os.path.join(os.path.dirname(
                        os.path.join(ROOT, rel)), inc)):
                    errors.append(f"{rel}:{no}: programs: \"{inc}\" is "
                                  f"neither in {name}/ nor a lib header")
            elif head in PROGRAMS or inc.startswith(".."):
                if head != name:
                    errors.append(f"{rel}:{no}: programs: {name}/ includes "
                                  f"another program's header \"{inc}\"")
            elif head not in LAYERS:
                errors.append(f"{rel}:{no}: programs: unknown header "
                              f"\"{inc}\"")


def main(argv):
    global ROOT
    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    if len(argv) == 3 and argv[1] == "--root":
        ROOT = argv[2]
    elif len(argv) != 1:
        print("usage: lint.py [--root DIR]", file=sys.stderr)
        return 2
    files = []
    for layer in LAYERS:
        for p in sources(ROOT, "lib/" + layer, True):
            files.append((p, ("lib", layer)))
    for p in sources(ROOT, "lib", False):
        files.append((p, ("lib", None)))
    for d in PROGRAMS:
        for p in sources(ROOT, d, True):
            files.append((p, ("prog", d)))
    for d in OTHER:
        for p in sources(ROOT, d, True):
            files.append((p, ("other", None)))
    errors = []
    for path, where in files:
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8", errors="replace") as f:
            raw = f.read()
        if where == ("lib", None):
            errors.append(f"{rel}:1: layers: lib/ holds no source of its own;"
                          f" put it in a layer directory")
        code = TOKEN.sub(blank, raw)
        for no, line in enumerate(code.split("\n"), 1):
            for m in BANNED.finditer(line):
                errors.append(f"{rel}:{no}: banned: {m.group(1)}() is not "
                              f"allowed (use buf/str helpers or snprintf)")
        # includes are read from the raw text: the quotes are strings
        no_comments = re.sub(r'/\*.*?\*/', blank, raw, flags=re.S)
        if where[1] is not None:
            check_includes(rel, no_comments, where, errors)
    for e in errors:
        print(e)
    if errors:
        return 1
    print(f"lint: ok ({len(files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
