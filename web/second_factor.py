"""What the second-factor pages draw: the authenticator app's QR code as inline SVG (made here,
no image service, no script) and its secret grouped for typing by hand."""

import base64
import re

import qrcode
import qrcode.image.svg
from django.utils.safestring import SafeString, mark_safe

# Where the session keeps what a signed-in account must still do (SecondFactorStep's value),
# worked out once per session by the middleware and reset by the pages that change it.
STEP_SESSION_KEY = "parcours_second_factor"

QR_LABEL = "QR code à scanner avec votre application d'authentification"


def qr_code_svg(config_url: str) -> SafeString:
    """An <svg role="img"> of the otpauth:// address (only our own markup: qrcode draws paths
    from the address's bits, never its text)."""
    image = qrcode.make(
        config_url,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=8,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    svg = svg.replace(
        "<svg ",
        f'<svg role="img" aria-label="{QR_LABEL}" class="parcours-qr-code" ',
        1,
    )
    return mark_safe(svg)  # noqa: S308  (generated above from the device's address only)


def secret_for_typing(device) -> str:
    """The TOTP secret in base 32, by groups of four (as authenticator apps accept it)."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
