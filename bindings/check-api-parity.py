#!/usr/bin/env python3
"""Checks that the generated Kotlin and Swift bindings expose the same API
(and, given the two test folders, that every Kotlin test has a Swift twin):
the same objects with the same methods and parameters, the same records
with the same fields, the same enums and cases, the same error variants and
the same top-level functions. Names are compared case- and
underscore-insensitively (Kotlin `actAs` = Swift `actAs`, `STAYED_WITH_PERSON`
= `stayedWithPerson`). Exits 1 and prints the differences if they differ."""
import pathlib
import re
import sys


def norm(name):
    return name.replace("_", "").replace("`", "").lower()


def block(text, start):
    """The text from `start` to the brace that closes the first `{` after it."""
    i = text.index("{", start)
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return text[i + 1 :]


def params(sig):
    return tuple(norm(p) for p in re.findall(r"`?(\w+)`?\s*:", sig))


def kotlin_api(text):
    api = {}
    for m in re.finditer(r"^public interface (\w+?)(?:Interface)? \{", text, re.M):
        name = m.group(1)
        if name.startswith("Ffi") or name in ("Disposable", "UniffiCleaner") or name.startswith("Uniffi"):
            continue
        body = block(text, m.start())
        api["object " + norm(name)] = sorted(
            (norm(f), params(sig)) for f, sig in re.findall(r"fun `(\w+)`\((.*?)\)", body)
        )
    for m in re.finditer(r"^data class (\w+) \(", text, re.M):
        body = text[m.end() : text.index(") {", m.end())]
        api["record " + norm(m.group(1))] = sorted(norm(f) for f in re.findall(r"va[rl] `(\w+)`", body))
    for m in re.finditer(r"^enum class (\w+) \{", text, re.M):
        body = block(text, m.start())
        api["enum " + norm(m.group(1))] = sorted(norm(c) for c in re.findall(r"^\s*([A-Z][A-Z0-9_]*)[,;]?\s*$", body, re.M))
    for m in re.finditer(r"^sealed class (\w+?)(?:Exception)?(?:\(\))?(?::.*?)? \{", text, re.M):
        body = block(text, m.start())
        api["variants " + norm(m.group(1))] = sorted(
            norm(c) for c in re.findall(r"^    (?:class|object|data class) (\w+)", body, re.M)
        )
    # Top-level functions: `fun` at brace depth 0.
    depth, depths = 0, []
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        depths.append(depth)
    api["functions"] = sorted(
        norm(m.group(1)) for m in re.finditer(r"fun `(\w+)`\(", text) if depths[m.start()] == 0
    )
    return api


def swift_api(text):
    api = {}
    for m in re.finditer(r"^public protocol (\w+?)(?:Protocol)?: AnyObject", text, re.M):
        body = block(text, m.start())
        api["object " + norm(m.group(1))] = sorted(
            (norm(f), params(sig)) for f, sig in re.findall(r"func (\w+)\((.*?)\)", body)
        )
    for m in re.finditer(r"^public struct (\w+): Equatable", text, re.M):
        body = block(text, m.start())
        head = body.split("// Default memberwise initializers")[0]
        api["record " + norm(m.group(1))] = sorted(norm(f) for f in re.findall(r"public (?:var|let) (\w+):", head))
    for m in re.finditer(r"^(?:public )?enum (\w+)(?:: [\w.]+)?(?:, [\w.]+)* \{", text, re.M):
        name = m.group(1)
        body = block(text, m.start())
        cases = re.findall(r"^    case (\w+)", body, re.M)
        if name.endswith("Error"):
            api["variants " + norm(name[: -len("Error")])] = sorted(norm(c) for c in cases)
        else:
            kind = "variants " if re.search(r"^    case \w+\(", body, re.M) else "enum "
            api[kind + norm(name)] = sorted(norm(c) for c in cases)
    api["functions"] = sorted(
        norm(f) for f in re.findall(r"^public func (\w+)\(", text, re.M)
        if not f.startswith("FfiConverter") and not f.startswith("uniffi")
    )
    return api


def main():
    kotlin = "".join(p.read_text() for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.kt")))
    swift = "".join(p.read_text() for p in sorted(pathlib.Path(sys.argv[2]).rglob("*.swift")))
    k, s = kotlin_api(kotlin), swift_api(swift)
    # A Kotlin sealed class of data-carrying variants is a Swift enum with
    # associated values: compare them as variants on both sides.
    for key in list(k):
        if key.startswith("variants "):
            s.setdefault(key, s.pop("enum " + key[len("variants "):], []))
    problems = []
    for key in sorted(set(k) | set(s)):
        if k.get(key) != s.get(key):
            problems.append(f"{key}:\n  kotlin: {k.get(key)}\n  swift:  {s.get(key)}")
    objects = sum(1 for key in k if key.startswith("object "))
    methods = sum(len(v) for key, v in k.items() if key.startswith("object "))
    if problems or objects == 0:
        print("Kotlin and Swift bindings differ:\n" + "\n".join(problems), file=sys.stderr)
        sys.exit(1)
    if len(sys.argv) == 5:
        ktests = sorted(norm(t) for p in pathlib.Path(sys.argv[3]).rglob("*.kt")
                        for t in re.findall(r"@Test\s+fun (\w+)\(", p.read_text()))
        stests = sorted(norm(t) for p in pathlib.Path(sys.argv[4]).rglob("*.swift")
                        for t in re.findall(r"func test(\w+)\(", p.read_text()))
        if ktests != stests or not ktests:
            print(f"Kotlin and Swift tests differ:\n  kotlin: {ktests}\n  swift:  {stests}", file=sys.stderr)
            sys.exit(1)
        print(f"test parity: the {len(ktests)} Kotlin tests have Swift twins")
    print(f"api parity: {objects} objects, {methods} methods, "
          f"{sum(1 for x in k if x.startswith('record '))} records, "
          f"{sum(1 for x in k if x.startswith('enum ') or x.startswith('variants '))} enums, "
          f"{len(k['functions'])} functions: Kotlin and Swift agree")


if __name__ == "__main__":
    main()
