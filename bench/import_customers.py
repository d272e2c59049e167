"""Import benchmark on PostgreSQL: `hub import customers` on a GB18030 CSV of dirty rows, against
a floor measured in the same run: a raw `COPY` of the same file into a table of text columns.

    python bench/import_customers.py [--rows 1000000]

HUB_BENCH_DATABASE_URL names a PostgreSQL server (default postgresql://postgres@127.0.0.1/test);
a scratch database is created next to it and dropped afterwards.

The file: Chinese headers, company names with mixed legal suffixes, mobiles in five spellings
(full-width digits, +86 with dashes, spaces, 86 prefix, plain), landlines on 30% of rows, emails
on 30%, 5% invalid rows and 10% exact duplicates (the same mobile spelled another way). The
importer runs as its own process (`python -m hub import customers`), so its peak memory is that
process's maximum resident set size (getrusage), and its time includes everything the command
does: reading the file twice (count, then import), cleaning, matching, writing, the row report
and the likely-duplicate check at the end.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_postgres  # noqa: E402 - bench/ is on the path when run

from hub.core.auth import create_user  # noqa: E402
from hub.core.db import session_scope  # noqa: E402
from hub.runtime.maintenance import upgrade_database  # noqa: E402
from hub.web.app import create_app  # noqa: E402

HEADERS = ["客户名称", "联系人", "手机", "座机", "邮箱", "城市", "行业", "备注"]
CITIES = ["深圳", "上海", "北京", "广州", "杭州", "成都", "武汉", "南京", "西安", "苏州"]
AREA = {"深圳": "0755", "上海": "021", "北京": "010", "广州": "020", "杭州": "0571",
        "成都": "028", "武汉": "027", "南京": "025", "西安": "029", "苏州": "0512"}  # fmt: skip
POOL = (
    "安邦宝博昌诚达鼎东丰福富广海瀚浩恒宏华汇佳嘉金锦景骏凯康坤朗利联隆茂美明南鹏奇启乾庆瑞润"
    "森盛顺泰天通万伟文祥鑫信星旭雅亚耀业怡益银英永优宇元远悦泽兆振正志中卓"
)
SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "", " Co., Ltd."]
FULL = str.maketrans("0123456789", "０１２３４５６７８９")
PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "186"]


def _spell(mobile: str, rnd: random.Random) -> str:
    style = rnd.randrange(5)
    if style == 0:
        return mobile.translate(FULL)
    if style == 1:
        return f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    if style == 2:
        return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if style == 3:
        return "86" + mobile
    return mobile


def write_file(path: Path, rows: int, seed: int = 1) -> dict[str, int]:
    """The benchmark's CSV, streamed to disk; returns how many rows of each kind it has."""
    rnd = random.Random(seed)
    kinds = {"valid": 0, "invalid": 0, "duplicate": 0}
    recent: list[tuple[str, str, str]] = []  # a window of rows to duplicate from
    with path.open("w", encoding="gb18030", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for n in range(rows):
            roll = rnd.random()
            if roll < 0.05:
                kinds["invalid"] += 1
                bad = n % 3
                w.writerow(
                    ["" if bad == 0 else f"坏数据{n}", "", "12345" if bad == 1 else "",
                     "", f"user{n}@" if bad == 2 else "", rnd.choice(CITIES), "", ""]
                )  # fmt: skip
                continue
            if roll < 0.15 and recent:
                kinds["duplicate"] += 1
                stem, mobile, city = rnd.choice(recent)
                w.writerow([stem + rnd.choice(SUFFIXES), "", _spell(mobile, rnd), "", "", city,
                            "", ""])  # fmt: skip
                continue
            kinds["valid"] += 1
            city = rnd.choice(CITIES)
            stem = city + "".join(rnd.choice(POOL) for _ in range(4)) + f"{n:x}"
            mobile = f"{rnd.choice(PREFIXES)}{n:08d}"
            landline = f"{AREA[city]}-{rnd.randrange(2, 9)}{n % 10**7:07d}" if roll > 0.7 else ""
            email = f"buyer{n}@example{n % 97}.cn" if roll < 0.45 else ""
            w.writerow([stem + rnd.choice(SUFFIXES), f"联系人{n % 5000}", _spell(mobile, rnd),
                        landline, email, city, rnd.choice(["电子", "物流", "贸易", ""]), ""])  # fmt: skip
            recent.append((stem, mobile, city))
            if len(recent) > 1000:
                recent.pop(rnd.randrange(len(recent)))
    return kinds


def _dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def copy_floor(url: str, path: Path) -> float:
    """Seconds for a raw COPY of the file into a table of text columns: no cleaning at all. The
    table (raw_rows) is left for the ceiling below."""
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE raw_rows (name text, contact text, mobile text, landline text,"
            " email text, city text, industry text, notes text)"
        )
        started = time.perf_counter()
        with conn.cursor() as cur, path.open("rb") as f:
            sql = "COPY raw_rows FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'GB18030')"
            with cur.copy(sql) as copy:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        elapsed = time.perf_counter() - started
    return elapsed


# What an import must write at the least, every row a new customer: the customer (with its 20
# indexes, three of them trigram GIN), a contact (six indexes, three trigram) and an audit entry.
CEILING_SQL = (
    (
        "customers and contacts",
        """WITH c AS (
             INSERT INTO customers (kind, stage, lead_source, name, company_key, match_block,
                 phone, email, city, region, industry, customer_class, created_at, updated_at)
             SELECT 'organization', 'customer', 'import', coalesce(name, ''),
                    lower(coalesce(name, '')), substr(coalesce(name, ''), 3, 2), mobile, email,
                    city, '', coalesce(industry, ''), 'C', now(), now()
             FROM raw_rows
             RETURNING id, name, phone, email)
           INSERT INTO contacts (customer_id, name, phone, email, is_decision_maker, created_at,
                                 updated_at)
           SELECT id, name, phone, email, false, now(), now() FROM c""",
    ),
    (
        "audit entries",
        """INSERT INTO audit_log (entity, entity_id, customer_id, action, changes, at)
           SELECT 'customer', id, id, 'import',
                  json_build_object('import_run', 1, 'row', id, 'outcome', 'created'), now()
           FROM customers""",
    ),
)


def write_ceiling(url: str) -> dict[str, float]:
    """Seconds for bare INSERT ... SELECTs of the floor's rows into the real, indexed tables
    (no cleaning, no matching): what no importer of these rows can beat on this server. The
    tables are emptied afterwards for the importer."""
    times: dict[str, float] = {}
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        for what, sql in CEILING_SQL:
            started = time.perf_counter()
            conn.execute(sql)
            times[what] = time.perf_counter() - started
        conn.execute("TRUNCATE audit_log, contacts, customers RESTART IDENTITY CASCADE")
        conn.execute("DROP TABLE raw_rows")
        conn.execute("VACUUM ANALYZE customers, contacts, audit_log")
    return times


def run_importer(url: str, instance: Path, path: Path) -> tuple[float, float, str]:
    """(seconds, peak resident MB, output) of `hub import customers` in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=url, HUB_INSTANCE_DIR=str(instance))
    env["HUB_SECRET_KEY"] = "bench-scratch-instance-key"  # noqa: S105 (a scratch instance)
    args = [sys.executable, "-m", "hub", "import", "customers", str(path),
            "--user", "bench@example.com", "--stage", "customer"]  # fmt: skip
    out = instance / "import.log"
    started = time.perf_counter()
    with out.open("w") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    text = out.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed:\n{text[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, text  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    base = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    with tempfile.TemporaryDirectory() as tmp, scratch_postgres(base) as url:
        tmpdir = Path(tmp)
        path = tmpdir / "customers.csv"
        kinds = write_file(path, args.rows)
        print(f"file: {args.rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB GB18030; {kinds}")
        app = create_app({"HUB_DATABASE_URL": url, "HUB_INSTANCE_DIR": str(tmpdir)})
        upgrade_database(app)
        with session_scope(app) as s:
            create_user(s, "bench@example.com", "director", "benchmark password")
        floor = copy_floor(url, path)
        print(f"floor (raw COPY): {floor:.1f} s, {args.rows / floor:,.0f} rows/s")
        ceiling = write_ceiling(url)
        total = sum(ceiling.values())
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in ceiling.items())
        print(
            f"ceiling (INSERT ... SELECT into the indexed tables): {total:.1f} s"
            f" ({parts}), {args.rows / total:,.0f} rows/s, {floor / total:.3f} of the floor"
        )
        elapsed, peak, output = run_importer(url, tmpdir, path)
        counts = dict(
            line.split(": ", 1)
            for line in output.splitlines()
            if line.split(": ", 1)[0]
            in ("created", "updated", "merged", "unchanged", "refused", "queued")
        )
        rate = args.rows / elapsed
        print(f"importer: {elapsed:.1f} s, {rate:,.0f} rows/s, peak memory {peak:.0f} MB")
        print(f"outcomes: {counts}")
        ratio = rate / (args.rows / floor)
        print(f"ratio to the floor: {ratio:.3f} (goal >= 0.25); peak {peak:.0f} MB (goal < 300)")


if __name__ == "__main__":
    main()
