"""PDF documents (attendance sheet, partner statement, purchase receipt) from the same Jinja
templates as the pages, laid out by WeasyPrint (it needs Debian's pango libraries)."""

from __future__ import annotations

from typing import Any

from portal.context import Context
from portal.templating import make_environment


def render_pdf(ctx: Context, template: str, **context: Any) -> bytes:
    from weasyprint import HTML  # imported here: loading pango costs ~0.3 s, only PDFs need it

    html = make_environment(ctx.settings.timezone).get_template(template).render(**context)
    pdf: bytes = HTML(string=html, base_url=ctx.settings.base_url).write_pdf()
    return pdf
