"""Turns a callgrind profile of gomodel into a linker symbol-ordering file (see symbol-order.sh).

Usage: symbol_order.py CALLGRIND_OUT LINKER_MAP BINARY_PATH > symbol-order.txt

The profile comes from the stripped release binary (`--dump-instr=yes`: a cost per executed
instruction address); the linker's map of that same link (`-Map`, `--no-demangle`) names the
function each address falls in. Every function that ran at least once is listed, by its own
instruction count, hottest first: the hot request path ends up in a few dense pages, start-up
code right after it. Other objects (libc, the vDSO) are left out.
"""

import bisect
import re
import sys
from collections import Counter

# lld's map has fixed columns: VMA, LMA, Size, Align, then the output section name at column 49,
# an input section at 57 and a symbol at 65 (0-based: where the name starts).
OUTPUT_SECTION_COLUMN = 49
SYMBOL_COLUMN = 65
FIRST_FOUR = re.compile(r"\s*([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9]+)\s+")


def text_symbols(map_path):
    """The .text section's (start, end) and (address, mangled name) of every symbol in it."""
    symbols = []
    text = (0, 0)
    in_text = False
    with open(map_path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            columns = FIRST_FOUR.match(line)
            if not columns:
                continue
            name = line[columns.end() :].strip()
            address, size = int(columns.group(1), 16), int(columns.group(3), 16)
            if columns.end() == OUTPUT_SECTION_COLUMN:
                in_text = name == ".text"
                if in_text:
                    text = (address, address + size)
            elif columns.end() == SYMBOL_COLUMN and in_text:
                symbols.append((address, name))
    symbols.sort()
    return text, symbols


def instruction_costs(path, binary):
    """Self instruction counts per executed address of `binary`, from callgrind's uncompressed
    output. Callgrind writes addresses as the object's own (link-time) addresses."""
    costs = Counter()
    in_binary = False
    after_calls = False
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("ob="):
                in_binary = line[3:].strip() == binary
            elif line.startswith("calls="):
                # The cost line after `calls=` is the callee's inclusive cost, not this address's.
                after_calls = True
            elif line.startswith("0x"):
                if after_calls:
                    after_calls = False
                    continue
                fields = line.split()
                if in_binary and len(fields) >= 2:
                    costs[int(fields[0], 16)] += int(fields[-1])
    return costs


def function_costs(text, symbols, costs):
    starts = [address for address, _ in symbols]
    by_function = Counter()
    for address, cost in costs.items():
        index = bisect.bisect_right(starts, address) - 1
        if index >= 0 and text[0] <= address < text[1]:
            by_function[symbols[index][1]] += cost
    return by_function


def main():
    text, symbols = text_symbols(sys.argv[2])
    costs = instruction_costs(sys.argv[1], sys.argv[3])
    ran = function_costs(text, symbols, costs)
    for name, _ in sorted(ran.items(), key=lambda item: (-item[1], item[0])):
        print(name)
    print(f"{len(ran)} of {len(symbols)} functions ran", file=sys.stderr)


if __name__ == "__main__":
    main()
