#!/usr/bin/env python3
"""Fails on an #include that breaks the layering table of docs/architecture.md.

Each module under src/ may include only its own headers, the modules its row allows, and
system/third-party headers (<...>). Tests (any `tests/` folder), bench/ and fuzz/ may include
anything. The same table drives nothing else: CMake's DEPS lists must agree with it, and
this script is what notices when they drift.

Usage: check_layers.py [ROOT]      (ROOT defaults to the repository root)
       check_layers.py --self-test  (proves the check fails on a planted violation)
"""
import pathlib
import posixpath
import re
import sys

# module -> modules it may include (besides itself). Row numbers as in architecture.md.
ALLOWED = {
    "base": set(),                                                    # row 0
    "io": {"base"},                                                   # row 1
    "observe": {"base"},                                              # row 1
    "storage": {"io", "observe", "base"},                             # row 2
    "kafka/protocol": {"base"},                                       # row 2
    "kafka/coordinator": {"storage", "observe", "base"},              # row 3
    "eventstore": {"storage", "observe", "base"},                     # row 3
    "kafka/server": {"kafka/protocol", "kafka/coordinator", "storage",
                     "eventstore", "observe", "base"},                # row 4
    "broker": {"kafka/server", "kafka/protocol", "kafka/coordinator",
               "storage", "eventstore", "io", "observe", "base"},      # row 5
    "client": {"observe", "base"},
    "stream": {"client", "observe", "base"},
    "cqrs": {"client", "stream", "observe", "base"},
    "cli": {"client", "broker", "observe", "base"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def module_of(path: str):
    """The longest module name that prefixes `path` (e.g. kafka/protocol/x.h)."""
    best = None
    for m in ALLOWED:
        if path == m or path.startswith(m + "/"):
            if best is None or len(m) > len(best):
                best = m
    return best


def check(root: pathlib.Path) -> int:
    src = root / "src"
    violations = []
    checked = 0
    for f in sorted(src.rglob("*")):
        if f.suffix not in (".h", ".cc", ".hpp", ".cpp") or "tests" in f.relative_to(src).parts:
            continue
        owner = module_of(str(f.relative_to(src).parent.as_posix()))
        if owner is None:
            violations.append(f"{f}: not inside any module of the layering table")
            continue
        checked += 1
        for inc in INCLUDE.findall(f.read_text(errors="replace")):
            inc = posixpath.normpath(inc)  # "base/../kafka/x.h" is kafka's
            target = module_of(inc)
            if target is None:
                violations.append(f"{f}: includes \"{inc}\", which belongs to no module")
            elif target != owner and target not in ALLOWED[owner]:
                violations.append(
                    f"{f}: {owner} may not include \"{inc}\" ({target}); "
                    f"allowed: {', '.join(sorted(ALLOWED[owner])) or 'nothing'}")
    for v in violations:
        print(v)
    print(f"check_layers: {checked} files, {len(violations)} violation(s)")
    return 1 if violations else 0


def self_test() -> int:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        (root / "src/storage").mkdir(parents=True)
        (root / "src/base").mkdir(parents=True)
        (root / "src/storage/tests").mkdir(parents=True)
        (root / "src/base/bytes.h").write_text("#include <vector>\n")
        (root / "src/storage/log.h").write_text('#include "base/bytes.h"\n')
        (root / "src/storage/tests/log_test.cc").write_text('#include "kafka/server/x.h"\n')
        if check(root) != 0:
            print("self-test: a legal tree was rejected")
            return 1
        (root / "src/storage/log.cc").write_text('#include "kafka/server/handler.h"\n')
        if check(root) != 1:
            print("self-test: storage including kafka/server was not caught")
            return 1
        (root / "src/storage/log.cc").write_text('#include "base/../kafka/x.h"\n')
        (root / "src/base/bytes.h").write_text('#include "storage/log.h"\n')
        if check(root) != 1:
            print("self-test: base including storage was not caught")
            return 1
    print("self-test: violations are caught")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    sys.exit(check(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                                pathlib.Path(__file__).parent.parent)))
