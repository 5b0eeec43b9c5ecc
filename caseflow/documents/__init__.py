"""Documents for people outside the system: the annual operation report and the maintenance
visit report as HTML (Jinja2) and PDF (WeasyPrint, with a CJK font), in Chinese."""
