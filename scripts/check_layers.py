#!/usr/bin/env python3
"""Fails on an #include that breaks the layering table of docs/architecture.md.

Each module under src/ may include only its own headers, the modules its row allows, and
system/third-party headers (<...>). A module's public headers under include/spate/<module>/
(installed for users, e.g. include/spate/stream/) count as that module, and an include of
"spate/<module>/..." is an include of that module. Tests (any `tests/` folder), bench/ and fuzz/ may include
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
# Public headers hide librdkafka: users of a module's API never need its headers or types.
PRIVATE_SYSTEM = re.compile(r'^\s*#\s*include\s+<(librdkafka/[^>]+)>', re.MULTILINE)


def module_of(path: str):
    """The longest module name that prefixes `path` (e.g. kafka/protocol/x.h)."""
    best = None
    for m in ALLOWED:
        if path == m or path.startswith(m + "/"):
            if best is None or len(m) > len(best):
                best = m
    return best


PUBLIC_PREFIX = "spate/"  # include/spate/<module>/x.h is included as "spate/<module>/x.h"


def module_of_include(inc: str):
    """The module an include path names: "spate/stream/x.h" is stream's public header."""
    if inc.startswith(PUBLIC_PREFIX):
        return module_of(inc[len(PUBLIC_PREFIX):])
    return module_of(inc)


def sources(root: pathlib.Path):
    """(file, owning module or None) for every checked file: src/ and include/spate/."""
    for base, strip in ((root / "src", ""), (root / "include", PUBLIC_PREFIX)):
        if not base.is_dir():
            continue
        for f in sorted(base.rglob("*")):
            rel = f.relative_to(base)
            if f.suffix not in (".h", ".cc", ".hpp", ".cpp") or "tests" in rel.parts:
                continue
            folder = rel.parent.as_posix()
            if strip:
                if not (folder + "/").startswith(strip):
                    yield f, None
                    continue
                folder = folder[len(strip):]
            yield f, module_of(folder)


def check(root: pathlib.Path) -> int:
    violations = []
    checked = 0
    for f, owner in sources(root):
        if owner is None:
            violations.append(f"{f}: not inside any module of the layering table")
            continue
        checked += 1
        text = f.read_text(errors="replace")
        if "include" in f.relative_to(root).parts[:1]:
            for inc in PRIVATE_SYSTEM.findall(text):
                violations.append(f"{f}: public header includes <{inc}>")
        for inc in INCLUDE.findall(text):
            inc = posixpath.normpath(inc)  # "base/../kafka/x.h" is kafka's
            target = module_of_include(inc)
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
        (root / "src/base/bytes.h").write_text("#include <vector>\n")
        (root / "src/storage/log.cc").write_text('#include "base/bytes.h"\n')
        # Public headers: include/spate/stream/ is module stream.
        (root / "src/stream").mkdir(parents=True)
        (root / "include/spate/stream/detail").mkdir(parents=True)
        (root / "include/spate/stream/pipeline.h").write_text(
            '#include "spate/stream/detail/node.h"\n#include "base/result.h"\n')
        (root / "include/spate/stream/detail/node.h").write_text("#include <vector>\n")
        (root / "src/stream/engine.cc").write_text('#include "spate/stream/pipeline.h"\n')
        if check(root) != 0:
            print("self-test: a legal tree with public stream headers was rejected")
            return 1
        (root / "include/spate/stream/pipeline.h").write_text('#include "storage/log.h"\n')
        if check(root) != 1:
            print("self-test: a public stream header including storage was not caught")
            return 1
        (root / "include/spate/stream/pipeline.h").write_text("#include <librdkafka/rdkafka.h>\n")
        if check(root) != 1:
            print("self-test: a public header including librdkafka was not caught")
            return 1
        (root / "include/spate/stream/pipeline.h").write_text("#include <vector>\n")
        (root / "src/base/bytes.h").write_text('#include "spate/stream/pipeline.h"\n')
        if check(root) != 1:
            print("self-test: base including a public stream header was not caught")
            return 1
    print("self-test: violations are caught")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    sys.exit(check(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                                pathlib.Path(__file__).parent.parent)))
