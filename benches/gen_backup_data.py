#!/usr/bin/env python3
"""A mixed data set for the backup benchmark, the same bytes for the same seed and size.

    benches/gen_backup_data.py DIR SIZE_MIB [SEED]

About 40% compressible text and logs in many small files (1-64 KiB), 30% medium JSON and CSV
files (1-8 MiB), 30% incompressible binaries (8-64 MiB).
"""
import os
import random
import sys

WORDS = ("order customer payment refund invoice session cache queue replica primary standby "
         "latency error timeout retry commit rollback snapshot region failover backup restore").split()


def text_block(rng, n):
    out = []
    size = 0
    while size < n:
        line = "2026-11-%02d %02d:%02d:%02d %s id=%08x %s took=%dms\n" % (
            rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
            rng.choice(("INFO", "WARN", "ERROR", "DEBUG")), rng.getrandbits(32),
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))), rng.randint(1, 5000))
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def json_block(rng, n):
    out = ["["]
    size = 1
    while size < n:
        rec = '{"id": %d, "customer": "c%06d", "amount": %d.%02d, "currency": "EUR", "items": [%s]},\n' % (
            rng.getrandbits(40), rng.randint(0, 999999), rng.randint(0, 9999), rng.randint(0, 99),
            ", ".join(str(rng.randint(1, 99999)) for _ in range(rng.randint(1, 6))))
        out.append(rec)
        size += len(rec)
    return "".join(out).encode()[:n]


def main():
    root, size_mib = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    rng = random.Random(seed)
    total = size_mib << 20
    budgets = {"text": total * 40 // 100, "medium": total * 30 // 100, "binary": total * 30 // 100}
    written = 0
    n = 0
    for kind, budget in budgets.items():
        used = 0
        while used < budget:
            if kind == "text":
                size = min(rng.randint(1, 64) << 10, budget - used)
                data = text_block(rng, size)
                path = os.path.join(root, "logs", "%03d" % (n % 200), "app-%06d.log" % n)
            elif kind == "medium":
                size = min(rng.randint(1, 8) << 20, budget - used)
                data = json_block(rng, size) if n % 2 else text_block(rng, size)
                path = os.path.join(root, "data", "export-%05d.%s" % (n, "json" if n % 2 else "csv"))
            else:
                size = min(rng.randint(8, 64) << 20, budget - used)
                data = rng.randbytes(size)
                path = os.path.join(root, "blobs", "blob-%04d.bin" % n)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            used += len(data)
            written += len(data)
            n += 1
    print("%d files, %.1f MiB in %s" % (n, written / 1048576, root))


if __name__ == "__main__":
    main()
