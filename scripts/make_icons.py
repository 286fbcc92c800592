"""Render the application icon from `resources/icon.svg`: `icon.png` (256 px) and a
multi-size `icon.ico` (16 to 256 px, one PNG entry per size, as Windows Vista and later read).

Run from the project folder after changing the SVG:  python scripts/make_icons.py

Qt's own ICO writer stores a single image per file, so the ICO container is written here:
a 6-byte header, one 16-byte directory entry per image, then the PNG data of each image.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
PNG_SIZE = 256


def render(svg: Path, size: int) -> QImage:
    """The SVG drawn at `size` x `size` pixels on a transparent background."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("Qt could not encode a PNG image")
    buffer.close()
    return bytes(data.data())


def ico_bytes(images: list[QImage]) -> bytes:
    """An ICO file holding `images` (square, at most 256 px) as PNG entries."""
    header = struct.pack("<HHH", 0, 1, len(images))          # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(images)
    entries, blobs = [], []
    for image in images:
        size = image.width()
        if size != image.height() or not 1 <= size <= 256:
            raise ValueError(f"ICO images must be square and at most 256 px, got {size}")
        blob = png_bytes(image)
        # width, height (0 means 256), colours in palette, reserved, planes, bits per pixel,
        # size of the data, offset of the data from the start of the file
        entries.append(struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32,
                                   len(blob), offset))
        blobs.append(blob)
        offset += len(blob)
    return header + b"".join(entries) + b"".join(blobs)


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def make_icons(folder: Path = RESOURCES) -> list[Path]:
    svg = folder / "icon.svg"
    png, ico = folder / "icon.png", folder / "icon.ico"
    write_atomically(png, png_bytes(render(svg, PNG_SIZE)))
    write_atomically(ico, ico_bytes([render(svg, size) for size in ICO_SIZES]))
    return [png, ico]


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts, plugins
    for path in make_icons():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
