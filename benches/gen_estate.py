#!/usr/bin/env python3
"""Write a synthetic estate of N systems (config TOML) to stdout, for benchmarks.

Systems are spread over the four tiers; each depends on up to three systems of the same or a
more critical tier defined before it, so the graph is acyclic. Fixed seed: the same N gives the
same file.

    benches/gen_estate.py 1000 > /tmp/estate-1000.toml
"""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
rng = random.Random(42)
print("[console]\noperator = \"bench\"\n")
tiers = []
for i in range(n):
    tier = 1 + (i * 4) // n
    tiers.append(tier)
    print("[[systems]]")
    print(f'name = "sys-{i:05d}"')
    print(f"tier = {tier}")
    candidates = [j for j in range(max(0, i - 40), i) if tiers[j] <= tier]
    deps = sorted(set(rng.sample(candidates, min(len(candidates), rng.randint(0, 3)))))
    if deps:
        print("depends_on = [" + ", ".join(f'"sys-{j:05d}"' for j in deps) + "]")
    print(f'owner = "team-{i % 17}"')
    print()
