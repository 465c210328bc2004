"""Draw the demo entries' photos (illustrations made for the OVOP/OCOP Exchange Hub, CC0-1.0)
into hub/publishing/seed/photos/, with Pillow alone, and nothing but shapes: no font, no
outside picture. The files are committed; run this again only to change them:

    .venv/bin/python tools/make_demo_photos.py

hub/publishing/seed/photos/manifest.json says which entry each file belongs to, its
alternative texts and its licence (it is written by hand: this script only draws)."""

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent.parent / "hub" / "publishing" / "seed" / "photos"
W, H = 1200, 800
S = 2  # drawn at twice the size, then reduced: smooth edges
SAVED = 960, 640  # small enough for the seed to process them all in a moment


def canvas(top, bottom):
    """A vertical gradient from ``top`` to ``bottom`` (RGB), drawn at S times the size."""
    gradient = Image.linear_gradient("L").resize((W * S, H * S))
    image = Image.composite(
        Image.new("RGB", gradient.size, bottom), Image.new("RGB", gradient.size, top), gradient
    )
    return image, ImageDraw.Draw(image)


def save(image, name, blur=0):
    image = image.resize(SAVED, Image.Resampling.LANCZOS)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    image.save(OUT / name, "JPEG", quality=84, optimize=True, progressive=True)


def box(x0, y0, x1, y1):
    return [x0 * S, y0 * S, x1 * S, y1 * S]


def squid_cakes():
    image, draw = canvas((244, 236, 220), (214, 196, 170))
    draw.ellipse(
        box(170, 170, 1030, 760), fill=(250, 250, 246), outline=(200, 190, 175), width=6 * S
    )
    draw.ellipse(box(230, 220, 970, 710), outline=(70, 120, 170), width=5 * S)
    rng = random.Random(1)
    for cx, cy in [(450, 380), (690, 360), (560, 540), (790, 560), (360, 580)]:
        draw.ellipse(box(cx - 115, cy - 95, cx + 115, cy + 95), fill=(196, 128, 46))
        draw.ellipse(box(cx - 100, cy - 85, cx + 100, cy + 78), fill=(222, 160, 70))
        for _ in range(40):
            x, y = cx + rng.randint(-85, 85), cy + rng.randint(-70, 65)
            r = rng.randint(3, 9)
            draw.ellipse(box(x - r, y - r, x + r, y + r), fill=(236, 190, 105))
    for i in range(3):  # a sprig of herbs
        draw.ellipse(
            box(880 + i * 40, 250 - i * 30, 960 + i * 40, 290 - i * 30), fill=(70, 140, 60)
        )
    save(image, "ha-long-squid-cake.jpg")


def tea_hills():
    image, draw = canvas((176, 214, 236), (226, 238, 220))
    for k, (base, colour) in enumerate(
        [(380, (120, 170, 110)), (500, (78, 142, 74)), (640, (52, 118, 58))]
    ):
        points = [(0, H * S)]
        for x in range(0, W + 20, 20):
            points.append((x * S, (base + 60 * math.sin(x / (170 + 40 * k) + k)) * S))
        points.append((W * S, H * S))
        draw.polygon(points, fill=colour)
        for row in range(6):  # rows of tea bushes following the hill
            y0 = base + 40 + row * 26 + k * 8
            for x in range(0, W, 14):
                y = y0 + 60 * math.sin(x / (170 + 40 * k) + k)
                draw.ellipse(
                    box(x, y, x + 16, y + 10), fill=tuple(min(255, c + 25) for c in colour)
                )
    draw.ellipse(box(930, 70, 1030, 170), fill=(255, 244, 200))
    save(image, "thai-nguyen-tea-hills.jpg")


def tea_cup():
    image, draw = canvas((92, 70, 52), (60, 44, 32))
    draw.rectangle(box(0, 520, W, H), fill=(120, 88, 60))
    draw.ellipse(box(330, 470, 870, 640), fill=(226, 222, 210))
    draw.pieslice(box(420, 200, 780, 620), 0, 180, fill=(236, 233, 224))
    draw.rectangle(box(420, 330, 780, 410), fill=(236, 233, 224))
    draw.ellipse(box(420, 290, 780, 370), fill=(214, 210, 198))
    draw.ellipse(box(440, 300, 760, 362), fill=(170, 182, 70))
    for i in range(3):  # steam
        x = 520 + i * 70
        draw.arc(box(x, 120, x + 60, 280), 100, 260, fill=(235, 230, 220), width=5 * S)
    for x, y in [(200, 600), (960, 640), (1010, 560)]:  # loose leaves
        draw.ellipse(box(x, y, x + 90, y + 36), fill=(64, 110, 48))
    save(image, "thai-nguyen-tea-cup.jpg", blur=0.4)


def silk_scarf():
    image, draw = canvas((120, 24, 60), (84, 16, 44))
    colours = [(226, 170, 60), (40, 110, 130), (232, 220, 200), (170, 40, 80)]
    step = 180
    for row in range(-1, H // (step // 2) + 2):
        for col in range(-1, W // step + 2):
            cx = col * step + (step // 2 if row % 2 else 0)
            cy = row * step // 2
            for ring, colour in enumerate(colours):
                r = step // 2 - ring * 20
                jitter = (ring * 3) % 5  # mudmee: the dyed edges are never quite straight
                draw.polygon(
                    [
                        ((cx) * S, (cy - r + jitter) * S),
                        ((cx + r) * S, cy * S),
                        (cx * S, (cy + r - jitter) * S),
                        ((cx - r) * S, cy * S),
                    ],
                    fill=colour,
                )
    save(image, "mudmee-silk-scarf.jpg", blur=1.2)


def shiitake():
    image, draw = canvas((70, 56, 42), (40, 32, 24))
    draw.rectangle(box(0, 0, W, H), outline=None)
    rng = random.Random(7)
    for cx, cy, r in [
        (330, 330, 170),
        (720, 300, 150),
        (540, 560, 180),
        (900, 560, 140),
        (190, 620, 110),
    ]:
        draw.ellipse(box(cx - r, cy - r * 0.85, cx + r, cy + r * 0.85), fill=(104, 62, 34))
        draw.ellipse(
            box(cx - r + 14, cy - r * 0.85 + 12, cx + r - 14, cy + r * 0.85 - 16),
            fill=(130, 80, 44),
        )
        for _ in range(26):  # the cracked, flowered caps of donko shiitake
            a = rng.uniform(0, 2 * math.pi)
            d = rng.uniform(0.2, 0.8) * r
            x, y = cx + d * math.cos(a), cy + d * 0.85 * math.sin(a)
            draw.line(
                box(x, y, x + rng.uniform(-30, 30), y + rng.uniform(-20, 20))[:4],
                fill=(226, 208, 176),
                width=4 * S,
            )
    save(image, "oita-dried-shiitake.jpg", blur=0.5)


def fair_hall():
    image, draw = canvas((236, 240, 244), (200, 206, 212))
    draw.rectangle(box(0, 560, W, H), fill=(170, 160, 150))
    stripes = [(11, 93, 59), (242, 193, 78), (10, 90, 140), (190, 60, 50)]
    for i in range(6):
        x = 40 + i * 190
        colour = stripes[i % len(stripes)]
        draw.rectangle(
            box(x, 300, x + 170, 560), fill=(250, 250, 250), outline=(150, 150, 150), width=2 * S
        )
        for k in range(6):  # the awning
            draw.rectangle(
                box(x + k * 28, 250, x + k * 28 + 28, 310),
                fill=colour if k % 2 == 0 else (255, 255, 255),
            )
        draw.rectangle(box(x + 10, 470, x + 160, 560), fill=tuple(int(c * 0.8) for c in colour))
        for j in range(4):  # goods on the counter
            draw.ellipse(
                box(x + 20 + j * 36, 440, x + 48 + j * 36, 470), fill=(200, 140 + j * 20, 60)
            )
    for i in range(14):  # visitors
        x = 60 + i * 82 + (i % 3) * 10
        draw.ellipse(box(x, 590, x + 34, 624), fill=(60, 50, 45))
        draw.rounded_rectangle(
            box(x - 8, 626, x + 42, 720), radius=14 * S, fill=stripes[(i + 1) % 4]
        )
    save(image, "ocop-fair-hall.jpg")


def fair_plan():
    """The fair's floor plan, as a one-page PDF (a document on the fair's page)."""
    plan = Image.new("RGB", (1240, 1754), (255, 255, 255))  # A4 at 150 dpi
    draw = ImageDraw.Draw(plan)
    draw.rectangle([80, 80, 1160, 1674], outline=(30, 30, 30), width=6)
    for row in range(6):
        for col in range(4):
            x, y = 140 + col * 250, 180 + row * 230
            draw.rectangle(
                [x, y, x + 200, y + 160], outline=(11, 93, 59), width=4, fill=(232, 244, 236)
            )
    draw.rectangle([520, 1600, 720, 1674], fill=(242, 193, 78))  # the entrance
    plan = plan.resize((620, 877), Image.Resampling.LANCZOS)  # A4 at 75 dpi
    plan.save(OUT / "ocop-fair-floor-plan.pdf", "PDF", resolution=75)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for draw_one in (squid_cakes, tea_hills, tea_cup, silk_scarf, shiitake, fair_hall, fair_plan):
        draw_one()
    for path in sorted(OUT.iterdir()):
        print(path.name, path.stat().st_size)
