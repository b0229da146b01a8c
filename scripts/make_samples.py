"""Regenerate samples/ from images that ship in scikit-image, plus rendered text.

Usage: python scripts/make_samples.py

Licences: scikit-image's astronaut (NASA, public domain), chelsea, coffee and rocket
(CC0 / public domain, see skimage/data/README.txt); the text images are drawn here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def save(image: Image.Image, relative: str) -> None:
    path = SAMPLES / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = "PNG" if path.suffix == ".png" else "GIF" if path.suffix == ".gif" else "JPEG"
    options = {"quality": 88} if kind == "JPEG" else {}
    image.save(path, kind, **options)


def text_image(lines: list[str], size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 44)
    for row, line in enumerate(lines):
        draw.text((40, 40 + row * 70), line, fill=(20, 20, 20), font=font)
    return image


def main() -> None:
    astronaut = Image.fromarray(data.astronaut())
    save(astronaut, "faces/eileen-collins/reference.jpg")
    portrait = Image.fromarray(np.ascontiguousarray(data.astronaut()[20:330, 90:420, :][:, ::-1]))
    save(portrait.resize((495, 465)), "uploads/mission/portrait.jpg")
    save(Image.fromarray(data.chelsea()), "uploads/pets/chelsea the cat.jpg")
    save(Image.fromarray(data.coffee()), "uploads/kitchen/coffee.jpg")
    save(Image.fromarray(data.rocket()), "uploads/mission/rocket.jpg")
    save(
        text_image(["INVOICE 2026-114", "TOTAL DUE 42.00 EUR"], (760, 220)),
        "uploads/docs/invoice.png",
    )
    save(text_image(["this one is a GIF"], (520, 140)).convert("P"), "uploads/docs/notes.gif")


if __name__ == "__main__":
    main()
