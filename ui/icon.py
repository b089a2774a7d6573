"""The app's page icon, drawn here: a Streamlit material icon as page icon is fetched from
Google's font server by every browser, and the app must make no request to another host."""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw

_BLUE = (0, 114, 178, 255)  # the theme's primary colour
_WHITE = (255, 255, 255, 255)


@lru_cache(maxsize=1)
def page_icon() -> Image.Image:
    """A 64 px icon: three people (white heads and shoulders) on the theme's blue."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 63, 63), radius=14, fill=_BLUE)
    for x, y, r in ((32, 20, 8), (15, 27, 6), (49, 27, 6)):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_WHITE)
        draw.pieslice((x - 2 * r, y + r + 2, x + 2 * r, y + 5 * r + 2), 180, 360, fill=_WHITE)
    return image
