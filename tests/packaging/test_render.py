"""packaging/render.py: icons, the Inno Setup script and Info.plist from agent/appinfo.py."""

from __future__ import annotations

import importlib.util
import plistlib
import re
from pathlib import Path
from types import ModuleType

from PIL import Image

from agent import __version__, appinfo

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def load_render() -> ModuleType:
    spec = importlib.util.spec_from_file_location("packaging_render", PACKAGING / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_everything_carries_the_one_version(tmp_path: Path) -> None:
    paths = load_render().render_all(tmp_path)
    iss = paths["iss"].read_text(encoding="utf-8")
    assert "${" not in iss
    assert f"AppVersion={__version__}" in iss
    assert f"OutputBaseFilename=kompliant-agent-{__version__}-setup" in iss
    # Inno Setup needs the AppId's opening brace doubled
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", iss, re.MULTILINE)
    assert f"SetupIconFile={paths['icon_ico']}" in iss
    plist = plistlib.loads(paths["info_plist"].read_bytes())
    assert plist["CFBundleShortVersionString"] == __version__
    assert plist["CFBundleIdentifier"] == appinfo.BUNDLE_ID
    assert plist["LSUIElement"] is True


def test_the_icons_are_real_images(tmp_path: Path) -> None:
    paths = load_render().write_icons(tmp_path)
    with Image.open(paths["png"]) as png:
        assert png.size == (256, 256)
        assert png.getpixel((128, 128))[3] == 255  # opaque in the middle
        assert png.getpixel((0, 0))[3] == 0  # transparent corner
    with Image.open(paths["ico"]) as ico:
        assert (16, 16) in ico.info["sizes"] and (256, 256) in ico.info["sizes"]
    with Image.open(paths["icns"]) as icns:
        assert icns.format == "ICNS"


def test_the_spec_takes_name_and_icon_from_the_one_source() -> None:
    spec = (PACKAGING / "kompliant-agent.spec").read_text(encoding="utf-8")
    assert "name=appinfo.COMMAND" in spec
    assert "version=appinfo.VERSION" in spec
    assert '"keyrings"' in spec  # excluded: never a plaintext keyring in the bundle
    for backend in ("pystray._gtk", "pystray._win32", "pystray._darwin"):
        assert backend in spec
    for backend in ("SecretService", "macOS", "Windows"):
        assert f"keyring.backends.{backend}" in spec
