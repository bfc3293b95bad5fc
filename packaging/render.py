#!/usr/bin/env python3
"""Render the build inputs from the one source of name, version and ids (agent/appinfo.py).

    python packaging/render.py [OUT_DIR]     (default: build/packaging)

writes into OUT_DIR:

- ``icons/kompliant-agent.png`` (256 px), ``.ico`` (Windows, 16-256 px) and ``.icns``
  (macOS), drawn here so no binary lives in the repository;
- ``kompliant-agent.iss``: the Inno Setup script for the Windows installer, from
  ``packaging/kompliant-agent.iss.in``;
- ``Info.plist``: the macOS bundle's keys (the spec's BUNDLE step uses the same dict).

The PyInstaller spec runs this first, so the bundle, its icon and the installer always
carry the version in ``agent/__init__.py``.
"""

from __future__ import annotations

import plistlib
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from agent import appinfo  # noqa: E402
from agent.autostart.templates import fill  # noqa: E402

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
BRAND = (27, 94, 165, 255)  # Kompliant blue
MARK = (255, 255, 255, 255)


def draw_icon(size: int = 256) -> Image.Image:
    """The app icon: a rounded blue square with a white check mark."""
    scale = 4  # draw large, then shrink: smooth edges without anti-aliasing support
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    margin = big // 16
    draw.rounded_rectangle(
        (margin, margin, big - margin, big - margin), radius=big // 5, fill=BRAND
    )
    width = max(big // 10, 1)
    points = [(big * 0.27, big * 0.52), (big * 0.44, big * 0.69), (big * 0.74, big * 0.34)]
    draw.line(points, fill=MARK, width=width, joint="curve")
    return image.resize((size, size), Image.Resampling.LANCZOS)


def write_icons(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    icon = draw_icon(256)
    paths = {ext: folder / f"{appinfo.COMMAND}.{ext}" for ext in ("png", "ico", "icns")}
    icon.save(paths["png"])
    icon.save(paths["ico"], sizes=[(s, s) for s in ICON_SIZES])
    icon.save(paths["icns"])
    return paths


def info_plist() -> dict[str, Any]:
    """The macOS bundle's Info.plist keys."""
    return {
        "CFBundleName": appinfo.DISPLAY_NAME,
        "CFBundleDisplayName": appinfo.DISPLAY_NAME,
        "CFBundleIdentifier": appinfo.BUNDLE_ID,
        "CFBundleExecutable": appinfo.COMMAND,
        "CFBundleIconFile": f"{appinfo.COMMAND}.icns",
        "CFBundlePackageType": "APPL",
        "CFBundleShortVersionString": appinfo.VERSION,
        "CFBundleVersion": appinfo.VERSION,
        "LSMinimumSystemVersion": "11.0",
        # A tray (menu bar) app: no Dock icon, no main window.
        "LSUIElement": True,
        "NSHighResolutionCapable": True,
        "NSHumanReadableCopyright": f"© {appinfo.PUBLISHER}",
    }


def render_all(out: Path) -> dict[str, Path]:
    """Write every rendered input into ``out``; their paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {f"icon_{ext}": path for ext, path in write_icons(out / "icons").items()}
    iss = out / f"{appinfo.COMMAND}.iss"
    template = (HERE / f"{appinfo.COMMAND}.iss.in").read_text(encoding="utf-8")
    values = {
        "dist_dir": str(ROOT / "dist" / appinfo.COMMAND),
        "output_dir": str(ROOT / "dist"),
        "icon_ico": str(paths["icon_ico"]),
    }
    iss.write_text(fill(template, values), encoding="utf-8")
    plist = out / "Info.plist"
    plist.write_bytes(plistlib.dumps(info_plist()))
    paths.update(iss=iss, info_plist=plist)
    return paths


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "packaging"
    for name, path in render_all(out).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
