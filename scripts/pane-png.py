#!/usr/bin/env python3
"""Renders a tmux pane's text (from `tmux capture-pane -p`) as a PNG in a
monospace font, for screenshots of rbgpctl top in docs/.

    tmux capture-pane -p -t top > pane.txt
    python3 scripts/pane-png.py pane.txt docs/top.png

Needs Pillow (pip install pillow) and DejaVu Sans Mono."""
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def main(src: str, dst: str) -> None:
    lines = open(src, encoding="utf-8").read().rstrip("\n").split("\n")
    font = ImageFont.truetype(FONT, 14)
    _, top, _, bottom = font.getbbox("M")
    cw, ch = font.getlength("M"), int((bottom - top) * 1.45)
    cols = max(len(l) for l in lines)
    img = Image.new("RGB", (int(cols * cw) + 20, len(lines) * ch + 20), (24, 24, 24))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((10, 10 + i * ch), line, font=font, fill=(220, 220, 220))
    img.save(dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pane-png.py PANE.txt OUT.png")
    main(sys.argv[1], sys.argv[2])
