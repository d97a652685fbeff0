"""How fast the hash-list formats read and write: a 1,000,000-record VICS 2.0 file.

    .venv/bin/python bench/formats_speed.py [--records N] [--write-records N] [--regenerate]

Generates (once; kept in bench/work/) a VICS 2.0 hash set of benign random values with an
MD5, a SHA1 and a PDQ alternative hash per Media and the other fields distributed sets
carry, then measures, on one core:

* the JSON layer alone (``JsonReader.values()``: decoded Media objects per second);
* the full reader (``vics`` → validated Records per second), and its peak traced memory;
* the writer (Records → VICS 2.0 bytes per second);
* for scale, ``json.loads`` of a 100 MB slice of the same file held in memory (what loading the
  document whole would cost, before running out of memory on a real list).

Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from vigil.lists.formats import ReadNotes, ReadOptions, get_format  # noqa: E402
from vigil.lists.formats._jsonstream import JsonReader  # noqa: E402

WORK = Path(__file__).resolve().parent / "work"
CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"


def generate(path: Path, count: int) -> None:
    """A VICS 2.0 hash set of made-up, benign values, one Media a line as exporters write them."""
    rng = random.Random(1234)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(f'{{"@odata.context":"{CONTEXT}","value":[\n')
        for n in range(1, count + 1):
            raw = os.urandom(68)
            media = {
                "MediaID": n,
                "Category": rng.choice((None, 0, 1, 2, 3, 4)),
                "MD5": raw[:16].hex().upper(),
                "SHA1": raw[16:36].hex().upper(),
                "MediaSize": rng.randrange(2_000, 20_000_000),
                "DateUpdated": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T03:04:05.0000Z",
                "IsPrecategorized": rng.choice(("true", "false")),
                "VictimIdentified": rng.choice(("true", "false")),
                "OffenderIdentified": rng.choice(("true", "false")),
                "IsDistributed": rng.choice(("true", "false")),
                "Series": rng.choice(("", "", "", f"series {rng.randrange(1000)}")),
                "Tags": "",
                "AlternativeHashes": [{"HashName": "PDQ", "HashValue": raw[36:68].hex()}],
            }
            f.write(("," if n > 1 else "") + json.dumps(media, separators=(",", ":")) + "\n")
        f.write("]}\n")
    tmp.replace(path)


class Clock:
    """Wall and CPU seconds of a block: on a shared machine the CPU rate is the steadier figure."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def rate(self, count: int) -> str:
        return (f"{count / self.cpu:>10,.0f} records/s of CPU ({count / self.wall:,.0f}/s wall; "
                f"{count:,} in {self.wall:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--write-records", type=int, default=200_000, help="records held in memory and written")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()

    path = WORK / f"vics20_{args.records}.json"
    if args.regenerate or not path.exists():
        print(f"generating {path} …", file=sys.stderr)
        generate(path, args.records)
    size = path.stat().st_size
    print(f"file: {path.name}, {size / 1e6:,.0f} MB, {args.records:,} Media records; Python {sys.version.split()[0]}")

    with path.open("rb") as f, Clock() as clock:
        reader = JsonReader(f, source=path.name)
        n = 0
        for key in reader.members():
            if key == "value":
                for _ in reader.values():
                    n += 1
            else:
                reader.value()
    print(f"JSON layer (JsonReader.values): {clock.rate(n)}, {size / clock.cpu / 1e6:,.0f} MB/s")

    fmt = get_format("vics")
    with path.open("rb") as f, Clock() as clock:
        n = sum(1 for _ in fmt.read(f, source=path.name, options=ReadOptions(), notes=ReadNotes()))
    print(f"vics read → Records:            {clock.rate(n)}")

    with path.open("rb") as f:
        tracemalloc.start()
        for _ in itertools.islice(fmt.read(f, source=path.name, options=ReadOptions(), notes=ReadNotes()), 200_000):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"vics read, peak traced memory over 200,000 records: {peak / 1e6:.1f} MB")

    with path.open("rb") as f:
        records = list(itertools.islice(fmt.read(f, source=path.name, options=ReadOptions(), notes=ReadNotes()),
                                        args.write_records))
    for name in ("vics", "stopncii", "ncmec", "te", "icse"):
        out = io.BytesIO()
        with Clock() as clock:
            get_format(name).write(records, out, list_name="bench")
        print(f"{name + ' write:':<32}{clock.rate(len(records))}, {out.tell() / 1e6:,.0f} MB")

    with path.open("rb") as f:
        head = f.read(100 << 20)
    text = head[:head.rfind(b"\n,")].decode() + "]}"
    with Clock() as clock:
        doc = json.loads(text)
    print(f"json.loads, 100 MB in memory:   {clock.rate(len(doc['value']))}")


if __name__ == "__main__":
    main()
