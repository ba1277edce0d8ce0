"""A million customers as a venue in Việt Nam or Thailand has them, fast.

Names follow the real shape: a few surnames cover most people (Nguyễn about
38 % of Vietnamese), then a long tail of rare ones (Khổng, Quách, Tôn Thất),
drawn with Zipf-like weights; middle and given names likewise. About one in
seven customers has a Thai name. E-mails (a third), phones (everyone, random
national numbers), KiotViet-style POS codes (KH + 6 digits, most imported
customers), visit columns (a quarter never visited: imported).

`rows(...)` yields customer tuples in `COLUMNS` order for the bulk writer of
porchlight.admin.seed (executemany on SQLite, COPY on PostgreSQL).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

# (name, weight): surname shares of Vietnam's population (Nguyễn ~38 %, Trần ~11 %, ...)
VN_FAMILY = [("Nguyễn", 540), ("Trần", 110), ("Lê", 95), ("Phạm", 71), ("Hoàng", 51),
             ("Huỳnh", 40), ("Phan", 45), ("Vũ", 39), ("Võ", 30), ("Đặng", 21), ("Bùi", 20),
             ("Đỗ", 14), ("Hồ", 13), ("Ngô", 13), ("Dương", 10), ("Lý", 5), ("Đinh", 6),
             ("Trịnh", 5), ("Lương", 4), ("Mai", 4), ("Trương", 4), ("Lâm", 3), ("Cao", 3),
             ("Đoàn", 3), ("Hà", 3), ("Tô", 2), ("Châu", 2), ("Tạ", 1), ("Thái", 1),
             ("Quách", 0.3), ("Khổng", 0.05), ("Tôn Thất", 0.05), ("Âu Dương", 0.02),
             ("Mạc", 0.1), ("Ông", 0.05), ("Khúc", 0.02), ("Bạch", 0.05)]  # fmt: skip
VN_MIDDLE = [("Văn", 200), ("Thị", 220), ("Minh", 60), ("Ngọc", 50), ("Thanh", 45),
             ("Hữu", 25), ("Đức", 25), ("Thu", 20), ("Quang", 20), ("Hoài", 10),
             ("Xuân", 10), ("Kim", 10), ("Bảo", 8), ("Gia", 6), ("Diệu", 2)]  # fmt: skip
VN_GIVEN = [("Anh", 60), ("Linh", 45), ("Hương", 40), ("Hùng", 35), ("Dũng", 30), ("Lan", 30),
            ("Trang", 30), ("Tuấn", 30), ("Hoa", 25), ("Nam", 25), ("Hà", 22), ("Minh", 22),
            ("Thảo", 20), ("Hải", 20), ("Long", 18), ("Mai", 18), ("Phương", 16), ("Sơn", 15),
            ("Bình", 14), ("Quân", 12), ("Khánh", 12), ("Yến", 10), ("Chi", 10), ("Vy", 10),
            ("Giang", 8), ("Hiếu", 8), ("Tâm", 8), ("Trung", 8), ("Đào", 6), ("Nhàn", 2),
            ("Triết", 0.5), ("Diệp", 0.5), ("Khuê", 0.3), ("Thục", 0.2), ("Uyên", 3),
            ("Xuyến", 0.2)]  # fmt: skip
TH_GIVEN = [("สมชาย", 30), ("สมศักดิ์", 20), ("สุดา", 20), ("วิไล", 15), ("ประเสริฐ", 12),
            ("มาลี", 12), ("สมหญิง", 10), ("ณัฐวุฒิ", 8), ("ปิยะ", 8), ("กมล", 6),
            ("อรุณี", 5), ("ธนพล", 5), ("ศิริพร", 4), ("ชนิดา", 3), ("พิมพ์ชนก", 1),
            ("วรเชษฐ์", 0.1)]  # fmt: skip
TH_FAMILY = [("ใจดี", 20), ("แสงทอง", 15), ("ศรีสุข", 12), ("บุญมา", 12), ("สุขสวัสดิ์", 8),
             ("ทองดี", 8), ("พรหมมา", 6), ("วงศ์ใหญ่", 5), ("รัตนพันธ์", 3), ("จันทร์เพ็ญ", 3),
             ("ศักดิ์สิทธิ์", 1), ("เกียรติก้อง", 0.1)]  # fmt: skip
COLUMNS = ["id", "tenant_id", "name", "phone", "email", "external_code", "notes", "province",
           "postal_code", "group_fixed", "visit_count", "spend_total", "first_visit_at",
           "last_visit_at", "last_channel", "last_location_id", "created_at",
           "updated_at"]  # fmt: skip
PROVINCES = [("Hồ Chí Minh", "700000"), ("Hà Nội", "100000"), ("Đà Nẵng", "550000"),
             ("Bangkok", "10100")]  # fmt: skip
UNACCENTED = {"Nguyễn": "nguyen", "Thị": "thi", "Văn": "van", "Ngọc": "ngoc", "Bình": "binh"}
MAIL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "example.vn"]


def _picker(pairs: list[tuple[str, float]], rng: random.Random, k: int) -> list[str]:
    names = [n for n, _w in pairs]
    return rng.choices(names, weights=[w for _n, w in pairs], k=k)


def _ascii(name: str) -> str:
    from porchlight.admin.customers.search_text import fold

    return fold(name).replace(" ", "")


def names(rng: random.Random, k: int) -> list[str]:
    """`k` names: 6 of 7 Vietnamese (family middle given), 1 of 7 Thai (given family)."""
    fam, mid = _picker(VN_FAMILY, rng, k), _picker(VN_MIDDLE, rng, k)
    giv = _picker(VN_GIVEN, rng, k)
    th_g, th_f = _picker(TH_GIVEN, rng, k), _picker(TH_FAMILY, rng, k)
    thai = [rng.random() < 1 / 7 for _ in range(k)]
    return [f"{th_g[i]} {th_f[i]}" if thai[i] else f"{fam[i]} {mid[i]} {giv[i]}" for i in range(k)]


def rows(
    rng: random.Random, first_id: int, count: int, tenant_id: int, loc_ids: list[int], time: Any
) -> Iterator[tuple[Any, ...]]:
    """Customer tuples in `COLUMNS` order; `time(datetime)` gives the driver's value."""
    now = datetime(2026, 12, 1, 12, 0, 0).astimezone()
    year = 365 * 86400
    people = names(rng, count)
    for i, name in enumerate(people):
        cid = first_id + i
        thai = not name[0].isascii() and "\u0e00" <= name[0] <= "\u0e7f"
        digits = (cid * 48271 + 12345) % 10**8  # unique per id, random-looking
        prefix = f"+66{rng.choice('689')}" if thai else f"+84{rng.choice('35789')}"
        phone = f"{prefix}{digits:08d}"
        email = None
        if rng.random() < 0.35:
            if rng.random() < 0.4:
                email = f"guest{rng.randrange(100_000)}@{rng.choice(MAIL_DOMAINS)}"
            else:
                email = f"{_ascii(name) or 'khach'}{rng.randrange(100)}@{rng.choice(MAIL_DOMAINS)}"
        imported = rng.random() < 0.25
        code = f"KH{cid:06d}" if imported or rng.random() < 0.3 else None
        visits = 0 if imported else 1 + int(rng.expovariate(0.3))
        first = last = None
        if visits:
            first = now - timedelta(seconds=rng.random() * year)
            last = first + timedelta(seconds=rng.random() * (now - first).total_seconds())
        created = first or now - timedelta(seconds=rng.random() * year)
        province, postal = PROVINCES[3 if thai else cid % 3]
        spend = rng.randrange(0, 5000) * 1000 if rng.random() < 0.4 else 0
        yield (cid, tenant_id, name, phone, email, code, "", province, postal, False, visits,
               spend, time(first), time(last), "form" if visits else None,
               rng.choice(loc_ids) if visits else None, time(created),
               time(last or created))  # fmt: skip
