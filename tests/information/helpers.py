import json
from pathlib import Path

from impftermin.demo.services import DATA_DIR, INFORMATION_DIR
from impftermin.information.services import information_seed_load

SEEDS = Path(DATA_DIR) / INFORMATION_DIR


def seed_data(slug: str) -> dict:
    return json.loads((SEEDS / f"{slug}.json").read_text(encoding="utf-8"))


def seeded(region):
    """`region` with the Westfalen-Lippe seed FAQ and hotline details."""
    region.hotline = "0800 116 117 02"
    region.hotline_abroad = "+49 231 9432 0000"
    region.hotline_hours = "Mo bis So 8 bis 20 Uhr"
    region.save()
    information_seed_load(region=region, data=seed_data("westfalen-lippe"))
    return region
