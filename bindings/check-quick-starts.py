#!/usr/bin/env python3
"""Checks that the quick starts in bindings/README.md are the code the tests
run: the lines between the "---- the quick start" markers of the Kotlin and
Swift quick-start tests, dedented, appear verbatim in the README's blocks.
Exits 1 naming the language whose quick start drifted."""
import pathlib
import sys

here = pathlib.Path(__file__).resolve().parent
readme = (here / "README.md").read_text()
sources = {
    "kotlin": here / "kotlin/src/test/kotlin/org/anxin/sdk/QuickStartTest.kt",
    "swift": here / "swift/Tests/AnxinTests/AnxinSdkTests.swift",
}
failed = False
for language, path in sources.items():
    text = path.read_text()
    start = text.index("// ---- the quick start, as in bindings/README.md ----")
    start = text.index("\n", start) + 1
    end = text.index("// ---- end of the quick start ----", start)
    lines = [line[8:] if line.startswith("        ") else line for line in text[start:end].splitlines()]
    code = "\n".join(lines).rstrip()
    if code not in readme:
        print(f"the {language} quick start in bindings/README.md differs from {path.name}", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
