"""Regenerate samples/ from images that ship in scikit-image, plus rendered text.

Usage: python scripts/make_samples.py

Licences: scikit-image's astronaut (NASA, public domain), chelsea, coffee and rocket
(CC0 / public domain, see skimage/data/README.txt); the text images are drawn here, and
the video is cut from these images (H.264 in MP4, encoded by PyAV's bundled libx264).
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


VIDEO_SIZE = (480, 360)
VIDEO_FPS = 12


def fit(image: Image.Image, zoom: float) -> np.ndarray:
    """Crop ``image`` to the video's aspect ratio, zoomed in by ``zoom``, and scale it."""
    width, height = VIDEO_SIZE
    scale = max(width / image.width, height / image.height) * zoom
    resized = image.resize((round(image.width * scale), round(image.height * scale)))
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return np.asarray(resized.crop((left, top, left + width, top + height)).convert("RGB"))


def save_video(relative: str) -> None:
    """Four shots - a cat, a rocket, black frames, a title card - with a slow zoom each."""
    import av

    shots: list[tuple[Image.Image, float]] = [
        (Image.fromarray(data.chelsea()), 2.5),
        (Image.fromarray(data.rocket()), 2.5),
        (Image.new("RGB", VIDEO_SIZE, "black"), 1.0),
        (text_image(["MEDIALENS", "VIDEO DEMO"], VIDEO_SIZE), 2.0),
    ]
    path = SAMPLES / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height = VIDEO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "26", "preset": "slow"}
        for image, seconds in shots:
            frames = round(seconds * VIDEO_FPS)
            for index in range(frames):
                pixels = fit(image, 1.0 + 0.08 * index / frames)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                container.mux(stream.encode(frame))
        container.mux(stream.encode())


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
    save_video("uploads/clips/cat-and-rocket.mp4")


if __name__ == "__main__":
    main()
